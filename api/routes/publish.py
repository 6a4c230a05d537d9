"""``POST /admin/publish``: put the edited corpus live, as ``assistant publish`` does, behind the admin key.

Synchronous on purpose: the request answers when the publish is over (validate → build beside the
current version → gate → flip ``CURRENT``; a minute or two), with what happened, so staff (or a
script with ``curl``) get the outcome in one call, exactly as from the CLI. nginx
(``deploy/nginx.conf``) gives this path a 600 s read timeout and never retries it on another replica.

It runs in the thread pool (never on the event loop, so the replica keeps answering residents),
reuses the replica's loaded model, and holds the same lock on the index folder as the CLI: a
second publish, from the API or the CLI, on this replica or another sharing the index, gets 409.
If the client goes away, the publish still finishes (or fails) and leaves a consistent index.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.deps import AdminDep, AssistantDep
from api.responses import ErrorBody, error_responses
from assistant.config import Settings
from assistant.errors import ConfigError, CorpusError, IndexError_, PublishBusyError
from assistant.publish import GATE, publish

log = logging.getLogger("assistant.api.publish")

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[AdminDep])


class Published(BaseModel):
    """What a publish did that did not fail."""

    status: Literal["published", "unchanged"] = Field(description="`unchanged`: the corpus was already live.")
    published: str | None = Field(description="The version made current (null when unchanged).")
    current: str = Field(description="The version every replica serves once it has switched.")
    previous: str | None = Field(description="The version that was current before.")
    message: str
    seconds: float
    metrics: dict[str, Any] = Field(description="The gate's eval metrics of the new version (empty when unchanged).")


def _failure(status: int, code: str, message: str, **details: Any) -> JSONResponse:
    """The API's error shape, with what failed alongside (``step``, ``problems``, …)."""
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message, **details}})


_RESPONSES: dict[int | str, dict[str, Any]] = {
    **error_responses(401, 403, 503),
    409: {
        "model": ErrorBody,
        "description": "Another publish (`assistant publish`, or this route on any replica) is running on the "
        "index folder (`publish_running`), or the corpus changed during the build (`corpus_changed`). Try later.",
    },
    422: {
        "model": ErrorBody,
        "description": "Not published; CURRENT unchanged. `step` says where it stopped: `validate` "
        "(`corpus_invalid`, `problems` lists every file and field) or `gate` (`gate_failed`, with `problems` "
        "naming each broken bound, `metrics` and up to 50 `failed_questions`). Also a bad `force` value.",
    },
    500: {
        "model": ErrorBody,
        "description": "The server's gate file cannot be read (`publish_misconfigured`); nothing was built.",
    },
}


@router.post(
    "/publish",
    summary="Publish the edited corpus (validate, build, gate, switch every replica)",
    response_model=Published,
    responses=_RESPONSES,
)
def publish_corpus(
    request: Request,
    assistant: AssistantDep,
    force: Annotated[bool, Query(description="Build and gate even if this corpus is already live.")] = False,
) -> Any:
    """Validate the corpus, build a version beside the current one, run the quality gate, and only then make
    it current; every replica switches within ``ASSISTANT_INDEX_POLL_SECONDS``. Answers when done."""
    settings: Settings = request.app.state.settings
    try:
        result = publish(
            settings,
            embedder=assistant.embedder,
            gate=settings.publish_gate or GATE,
            questions=[settings.publish_questions] if settings.publish_questions else None,
            force=force,
            report=log.info,
        )
    except CorpusError as exc:
        return _failure(
            422,
            "corpus_invalid",
            f"not published: {len(exc.problems)} problem(s) in the corpus {settings.corpus_dir}; CURRENT unchanged",
            step="validate",
            problems=exc.problems,
        )
    except PublishBusyError as exc:
        return _failure(409, "publish_running", f"not published: {exc}", step="lock")
    except IndexError_ as exc:  # the corpus changed on disk while it was being built
        return _failure(409, "corpus_changed", f"not published: {exc}; CURRENT unchanged", step="build")
    except ConfigError as exc:
        log.error("publish cannot run: %s", exc)
        return _failure(500, "publish_misconfigured", f"not published: {exc}", step="gate")
    if result.problems:
        log.warning("publish of %s failed the gate: %s", result.version, "; ".join(result.problems))
        return _failure(
            422,
            "gate_failed",
            f"not published: {result.version} failed the gate ({len(result.problems)} problem(s)); "
            f"still serving {result.previous or 'nothing'}",
            step="gate",
            problems=result.problems,
            metrics=result.metrics,
            failed_questions=result.failed_questions[:50],
        )
    if not result.published:
        return Published(
            status="unchanged",
            published=None,
            current=result.version,
            previous=result.previous,
            message=f"nothing to publish: {result.version} already serves this corpus",
            seconds=result.seconds,
            metrics={},
        )
    log.info("published %s (was %s) in %.1f s", result.version, result.previous, result.seconds)
    return Published(
        status="published",
        published=result.version,
        current=result.version,
        previous=result.previous,
        message=(
            f"published: {result.version} is current (was {result.previous or 'none'}); every replica switches "
            f"within {settings.index_poll_seconds:g} s"
        ),
        seconds=result.seconds,
        metrics=result.metrics,
    )
