"""``/admin``: the staff page, server-rendered HTML (Jinja2, autoescaped) over the same queries as the JSON API.

Staff log in once with the admin key (``ASSISTANT_ADMIN_TOKEN``, the JSON API's bearer key). The
cookie holds no key: it holds ``<issued>.<nonce>.<signature>``, an HMAC of the nonce and time
under the key, so it works on every worker and replica, expires after :data:`SESSION_SECONDS`, and
every session ends when the key changes. It is HttpOnly and SameSite=Strict (and Secure over
HTTPS). Every form that changes something (triage, logout) also carries a per-session CSRF token,
an HMAC of the nonce, compared in constant time.

Pages: ``/admin`` (the day's and week's counts, unanswered top list, unhelpful answers, counts per
project), ``/admin/list`` (the filterable question table, paged, with ``/admin/list.csv``),
``/admin/gaps`` (every unanswered group). Each question can be triaged into the eval inbox
(:mod:`assistant.evaluation.inbox`). ``?ui=en`` switches the page to English and is remembered in a
cookie; Japanese is the default.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.deps import get_assistant, get_store
from api.routes import admin as admin_api
from api.routes.widget import STATIC_DIR, templates
from api.staff_text import UI_LANGS, translate
from assistant.config import ROOT, Settings
from assistant.errors import TriageError
from assistant.evaluation import inbox
from assistant.store import queries
from assistant.store.queries import JST, LOW_CONFIDENCE, QuestionFilter

SESSION_COOKIE = "assistant_staff"
UI_COOKIE = "assistant_staff_ui"
SESSION_SECONDS = 12 * 3600
"""A login lasts a working day."""
PER_PAGE = 50
NOT_COVERED = "__none__"
"""The triage choice "not covered by any project" (never a project id: ids are lower-case words and hyphens)."""

CSP = "; ".join(
    [
        "default-src 'none'",
        "style-src 'self'",
        "img-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    ]
)
"""No scripts at all: the page is plain forms and links."""

HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}

router = APIRouter(prefix="/admin", include_in_schema=False)


# --------------------------------------------------------------------------- who is asking


def _sign(key: str, purpose: str, *parts: str) -> str:
    message = "|".join([purpose, *parts]).encode("utf-8")
    return hmac.new(key.encode("utf-8"), message, hashlib.sha256).hexdigest()


def _configured_key(settings: Settings) -> str:
    return settings.admin_token.get_secret_value() if settings.admin_token else ""


def _new_session(key: str) -> str:
    issued, nonce = str(int(time.time())), secrets.token_urlsafe(18)
    return f"{issued}.{nonce}.{_sign(key, 'session', issued, nonce)}"


def _session_nonce(value: str | None, key: str, now: float) -> str | None:
    """The nonce of a valid, unexpired session cookie; None for anything else."""
    if not value or value.count(".") != 2:
        return None
    issued, nonce, signature = value.split(".")
    if not hmac.compare_digest(signature.encode("ascii", "replace"), _sign(key, "session", issued, nonce).encode()):
        return None
    if not issued.isdigit() or not 0 <= now - int(issued) < SESSION_SECONDS:
        return None
    return nonce


def _ui(request: Request) -> str:
    """The page's language: ``?ui=`` if given, else the remembered choice, else Japanese."""
    for value in (request.query_params.get("ui"), request.cookies.get(UI_COOKIE)):
        if value in UI_LANGS:
            return value
    return "ja"


@dataclass(frozen=True)
class Visit:
    """One request to the staff page: its language, and the logged-in session's CSRF token."""

    request: Request
    ui: str
    csrf: str = ""

    def t(self, key: str, **values: object) -> str:
        return translate(key, self.ui, **values)


def _safe_next(target: str | None) -> str:
    """A path inside the staff page to return to; anything else (another site, a scheme) becomes ``/admin``."""
    if target and target.startswith("/admin") and not target.startswith("//") and "\\" not in target:
        return target
    return "/admin"


def _jst(value: datetime) -> str:
    return value.astimezone(JST).strftime("%Y-%m-%d %H:%M")


def _page(visit: Visit, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    request = visit.request
    toggle = dict(request.query_params)
    toggle["ui"] = "en" if visit.ui == "ja" else "ja"
    html = (
        templates()
        .get_template(f"admin/{name}")
        .render(
            t=visit.t,
            ui=visit.ui,
            csrf=visit.csrf,
            path=request.url.path,
            here=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            toggle_url=f"{request.url.path}?{urlencode(toggle)}",
            jst=_jst,
            **context,
        )
    )
    response = HTMLResponse(html, status_code=status, headers=HEADERS)
    if request.query_params.get("ui") in UI_LANGS:
        response.set_cookie(
            UI_COOKIE,
            visit.ui,
            max_age=365 * 24 * 3600,
            path="/admin",
            samesite="strict",
            secure=request.url.scheme == "https",
        )
    return response


def _gate(request: Request) -> Visit | HTMLResponse:
    """The logged-in visit, or the page to show instead: 403 with no key configured, 401 with the login form."""
    settings: Settings = request.app.state.settings
    visit = Visit(request, _ui(request))
    key = _configured_key(settings)
    if not key:
        return _page(visit, "off.html", 403)
    nonce = _session_nonce(request.cookies.get(SESSION_COOKIE), key, time.time())
    if nonce is None:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return _page(visit, "login.html", 401, next=here, error=None)
    return Visit(request, visit.ui, csrf=_sign(key, "csrf", nonce)[:32])


async def _form(request: Request) -> dict[str, str]:
    """The URL-encoded form body (the first value of each field)."""
    body = (await request.body()).decode("utf-8", errors="replace")
    return {name: values[0] for name, values in parse_qs(body, keep_blank_values=True).items()}


def _csrf_ok(visit: Visit, form: Mapping[str, str]) -> bool:
    return hmac.compare_digest(form.get("csrf", "").encode("utf-8", "replace"), visit.csrf.encode())


async def _staff_post(request: Request, *, back_field: str | None = None) -> tuple[Visit, dict[str, str]] | Response:
    """A logged-in staff member's form, its CSRF token checked; otherwise the page to answer with
    (the login form, or a 403 that links back to the form's ``back_field`` page, else /admin)."""
    form = await _form(request)
    visit = _gate(request)
    if isinstance(visit, Response):
        return visit
    if not _csrf_ok(visit, form):
        back = _safe_next(form.get(back_field)) if back_field else "/admin"
        return _page(visit, "message.html", 403, message=visit.t("csrf_failed"), back=back)
    return visit, form


# --------------------------------------------------------------------------- log in and out


@router.post("/login")
async def login(request: Request) -> Response:
    """Check the key; on success set the session cookie and go back to the page asked for."""
    form = await _form(request)
    settings: Settings = request.app.state.settings
    visit = Visit(request, _ui(request))
    key = _configured_key(settings)
    if not key:
        return _page(visit, "off.html", 403)
    given = form.get("key", "").strip()
    if not hmac.compare_digest(given.encode("utf-8", "replace"), key.encode("utf-8")):
        return _page(visit, "login.html", 401, next=_safe_next(form.get("next")), error=visit.t("login_wrong"))
    response = RedirectResponse(_safe_next(form.get("next")), status_code=303, headers={"Cache-Control": "no-store"})
    response.set_cookie(
        SESSION_COOKIE,
        _new_session(key),
        max_age=SESSION_SECONDS,
        path="/admin",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    """End the session (the cookie is cleared)."""
    posted = await _staff_post(request)
    if isinstance(posted, Response):
        return posted
    response = RedirectResponse("/admin", status_code=303, headers={"Cache-Control": "no-store"})
    response.delete_cookie(SESSION_COOKIE, path="/admin", httponly=True, samesite="strict")
    return response


# --------------------------------------------------------------------------- pages


def _projects(request: Request, ui: str) -> dict[str, str]:
    """Project id → name in the page's language, in the corpus's order (the triage choices)."""
    corpus = get_assistant(request).corpus
    return {p.id: (p.name if ui == "ja" else p.name_en) for p in corpus.projects.values()}


def _triage_context(request: Request, visit: Visit) -> dict[str, Any]:
    settings: Settings = request.app.state.settings
    return {
        "projects": _projects(request, visit.ui),
        "triaged": inbox.triaged(settings.inbox_dir),
        "entry_id": inbox.entry_id,
        "not_covered": NOT_COVERED,
        "inbox_label": _inbox_label(settings),
    }


def _inbox_label(settings: Settings) -> str:
    try:
        return str(settings.inbox_dir.relative_to(ROOT)) + "/"
    except ValueError:
        return str(settings.inbox_dir) + "/"


@router.get("", response_class=HTMLResponse)
def overview(request: Request, days: int = 7) -> Response:
    """The day's and the week's counts, the unanswered top list, unhelpful answers, counts per project."""
    visit = _gate(request)
    if isinstance(visit, Response):
        return visit
    days = min(max(days, 1), 366)
    with get_store(request).session() as session:
        summary = queries.overview(session, below=LOW_CONFIDENCE, days=days)
    return _page(visit, "overview.html", summary=summary, days=days, **_triage_context(request, visit))


def _filters(params: Mapping[str, str]) -> tuple[QuestionFilter, str | None]:
    """The question filters from a query string; empty form fields mean "any"."""
    values = {name: params[name].strip() for name in QuestionFilter.model_fields if params.get(name, "").strip()}
    try:
        return QuestionFilter.model_validate(values), None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return QuestionFilter(), problems


@router.get("/list", response_class=HTMLResponse)
def question_list(request: Request) -> Response:
    """The question table: filters (date range, channel, language, project, unanswered, text), paging, CSV."""
    visit = _gate(request)
    if isinstance(visit, Response):
        return visit
    params = request.query_params
    filters, problem = _filters(params)
    page = int(params["page"]) if params.get("page", "").isdigit() and int(params["page"]) >= 1 else 1
    with get_store(request).session() as session:
        result = queries.list_questions(session, filters, page=page, per_page=PER_PAGE)
    query = {k: v for k, v in filters.model_dump(mode="json").items() if v is not None}
    pages = max(1, -(-result.total // PER_PAGE))
    return _page(
        visit,
        "questions.html",
        status=422 if problem else 200,
        result=result,
        filters=filters,
        problem=problem,
        page=page,
        pages=pages,
        page_url=lambda n: f"/admin/list?{urlencode({**query, 'page': n})}",
        csv_url=f"/admin/list.csv?{urlencode(query)}",
        channels=["api", "widget", "line", "cli"],
        langs=["ja", "ja-easy", "en", "vi", "pt", "es", "zh", "ko", "tl", "id", "ne", "th", "und"],
        **_triage_context(request, visit),
    )


@router.get("/list.csv")
def question_csv(request: Request) -> Response:
    """The filtered questions as CSV (UTF-8 with BOM), for the page's download button (cookie login)."""
    visit = _gate(request)
    if isinstance(visit, Response):
        return visit
    filters, problem = _filters(request.query_params)
    if problem:
        return _page(visit, "message.html", 422, message=visit.t("bad_filter", problem=problem), back="/admin/list")
    response: StreamingResponse = admin_api.questions_csv(filters, get_store(request))
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/gaps", response_class=HTMLResponse)
def gaps(request: Request) -> Response:
    """Every unanswered group (abstained and low-confidence questions), most frequent first."""
    visit = _gate(request)
    if isinstance(visit, Response):
        return visit
    filters, problem = _filters(request.query_params)
    with get_store(request).session() as session:
        result = queries.unanswered(session, filters, below=LOW_CONFIDENCE, limit=200)
    return _page(
        visit,
        "unanswered.html",
        status=422 if problem else 200,
        result=result,
        problem=problem,
        **_triage_context(request, visit),
    )


# --------------------------------------------------------------------------- triage


def _write_triage(request: Request, answer_id: str, choice: str) -> inbox.Triaged | str:
    """Write the verdict; a string is the message key (or problem) to show instead."""
    settings: Settings = request.app.state.settings
    with get_store(request).session() as session:
        record = queries.get_question(session, answer_id)
    if record is None:
        return "triage_missing"
    if record.follow_up:
        return "triage_follow_up"
    return inbox.triage(
        settings.inbox_dir,
        answer_id=record.answer_id,
        question=record.question,  # the masked text: the record never holds the raw one
        lang=record.lang,
        answer_lang=record.answer_lang,
        asked_at=record.asked_at,
        project_id=None if choice == NOT_COVERED else choice,
        projects=get_assistant(request).corpus.projects,
    )


@router.post("/triage")
async def triage(request: Request) -> Response:
    """Append staff's verdict on one logged question to the eval inbox, then go back to the page."""
    posted = await _staff_post(request, back_field="back")
    if isinstance(posted, Response):
        return posted
    visit, form = posted
    back = _safe_next(form.get("back"))
    choice = form.get("project", "").strip()
    if not choice:
        return _page(visit, "message.html", 422, message=visit.t("triage_choose"), back=back)
    try:
        written = await run_in_threadpool(_write_triage, request, form.get("answer_id", "").strip(), choice)
    except TriageError as exc:
        return _page(visit, "message.html", 422, message=visit.t("triage_failed", problem=str(exc)), back=back)
    if isinstance(written, str):
        return _page(
            visit, "message.html", 404 if written == "triage_missing" else 409, message=visit.t(written), back=back
        )
    anchor = "#q-" + form.get("answer_id", "").strip()
    return RedirectResponse(back + anchor, status_code=303, headers={"Cache-Control": "no-store"})


# --------------------------------------------------------------------------- the stylesheet


@lru_cache(maxsize=1)
def _stylesheet() -> bytes:
    return (STATIC_DIR / "staff.css").read_bytes()


@router.api_route("/static/staff.css", methods=["GET", "HEAD"])
def stylesheet() -> Response:
    """The staff page's stylesheet (a file, so the page's CSP needs no inline styles)."""
    headers = {"Cache-Control": "public, max-age=600", "X-Content-Type-Options": "nosniff"}
    return Response(_stylesheet(), media_type="text/css; charset=utf-8", headers=headers)
