"""``GET /v1/projects`` and ``GET /v1/projects/{id}``: the joint projects themselves."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import AssistantDep
from api.responses import error_responses
from assistant.corpus import Project
from assistant.errors import NotFoundError

router = APIRouter(prefix="/v1", tags=["projects"], responses=error_responses(503))


class ProjectSummary(BaseModel):
    """One line of the project list."""

    id: str
    name: str
    name_en: str
    category_path: list[str]
    status: str
    municipalities: list[str]
    page: int


@router.get("/projects", response_model=list[ProjectSummary], summary="List the joint projects")
def list_projects(assistant: AssistantDep) -> list[ProjectSummary]:
    """Every joint project, in the order of the source table."""
    return [
        ProjectSummary(
            id=p.id,
            name=p.name,
            name_en=p.name_en,
            category_path=p.category_path,
            status=p.status,
            municipalities=p.municipalities,
            page=p.source.page,
        )
        for p in assistant.corpus.projects.values()
    ]


@router.get(
    "/projects/{project_id}",
    response_model=Project,
    summary="One joint project, every field",
    responses=error_responses(404),
)
def get_project(project_id: str, assistant: AssistantDep) -> Project:
    """One joint project with all its corpus fields."""
    project = assistant.corpus.get(project_id)
    if project is None:
        shown = project_id if len(project_id) <= 80 else project_id[:80] + "…"  # never echo a huge id whole
        raise NotFoundError(f"no joint project with id {shown!r}; GET /v1/projects lists them")
    return project
