"""``POST /line/webhook``: the LINE official account, answered through the same assistant.

line-bot-sdk checks the signature and parses the events (``WebhookParser``) and sends the replies
(``MessagingApi``, pointed at ``ASSISTANT_LINE_API_BASE_URL``). The webhook answers 200 at once; each
event is handled in the background, once: the store remembers every ``webhookEventId`` (in the
database, so a redelivery reaching another worker or replica is not answered twice).

The conversation is keyed by a hash of the LINE user id; the raw id is neither stored nor logged.

line-bot-sdk is imported when LINE is configured (:func:`load_sdk`, at start), not by a server
without a channel: importing it adds about 32 MB to a worker (`scripts/memory_parts.py`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import parse_qs

from fastapi import APIRouter, BackgroundTasks, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.datastructures import State
from urllib3.util.retry import Retry

if TYPE_CHECKING:
    from linebot.v3.messaging import ApiException
    from linebot.v3.webhooks import Event

from api import line_messages
from api.errors import error
from api.responses import BODY_ERRORS, error_responses
from assistant.answering.service import Assistant
from assistant.config import Settings
from assistant.errors import StoreUnavailableError
from assistant.store.runtime import Store

log = logging.getLogger("assistant.line")
router = APIRouter(tags=["line"])

REPLY_TIMEOUT = (5.0, 10.0)
"""Connect and read timeouts of a reply: a reply token is only valid for a short while anyway."""
RETRY = Retry(
    total=1,
    connect=1,
    read=1,
    status=1,
    other=0,
    status_forcelist=(500, 502, 503, 504),
    allowed_methods=None,  # POST too: a reply token is single-use, so a repeated reply cannot arrive twice
    backoff_factor=0.5,
    raise_on_status=False,
)
"""At most one retry, on a connection error or a 5xx from LINE; none on a 4xx (an expired token stays expired)."""


class WebhookAccepted(BaseModel):
    """The webhook's answer to LINE: the events were taken; the replies follow in the background."""

    status: Literal["accepted"] = "accepted"
    events: int = Field(description="How many events the body held (0 for the console's verify button).")


RESPONSES = error_responses(*BODY_ERRORS, 503)
RESPONSES[200] = {"description": "The events were taken (none for LINE's verify button); replies follow."}
RESPONSES[400] = {
    **RESPONSES[400],
    "description": (
        "`missing_signature` / `invalid_signature`: X-Line-Signature is missing or does not match the body "
        "and the channel secret (only LINE can sign); `invalid_body`: a signed body that is not LINE's."
    ),
}
RESPONSES[503] = {
    **RESPONSES[503],
    "description": (
        "`line_not_configured`: ASSISTANT_LINE_CHANNEL_SECRET or ASSISTANT_LINE_CHANNEL_ACCESS_TOKEN is not set."
    ),
}


def session_of(event: Event) -> str | None:
    """The conversation id of the event's sender: SHA-256 of the LINE user (or group/room) id, never the id."""
    source = event.source
    ident = getattr(source, "user_id", None) or getattr(source, "group_id", None) or getattr(source, "room_id", None)
    if not ident:
        return None
    return "line:" + hashlib.sha256(f"line-user:{ident}".encode()).hexdigest()


def _missing_settings(settings: Settings) -> list[str]:
    missing = []
    if not (settings.line_channel_secret and settings.line_channel_secret.get_secret_value()):
        missing.append("ASSISTANT_LINE_CHANNEL_SECRET")
    if not (settings.line_channel_access_token and settings.line_channel_access_token.get_secret_value()):
        missing.append("ASSISTANT_LINE_CHANNEL_ACCESS_TOKEN")
    return missing


@router.post(
    "/line/webhook",
    summary="LINE Messaging API webhook",
    response_model=WebhookAccepted,
    responses=RESPONSES,
    openapi_extra={
        "parameters": [
            {
                "name": "X-Line-Signature",
                "in": "header",
                "required": True,
                "description": "Base64 HMAC-SHA256 of the raw body with the channel secret, set by LINE.",
                "schema": {"type": "string"},
            }
        ],
        "requestBody": {
            "required": True,
            "description": "LINE's webhook body: `{destination, events: [...]}` (no events for the verify button).",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
    },
)
async def webhook(
    request: Request,
    background: BackgroundTasks,
    signature: Annotated[str | None, Header(alias="X-Line-Signature", include_in_schema=False)] = None,
) -> JSONResponse:
    """Check LINE's signature, answer 200 at once, and reply to each event in the background."""
    settings: Settings = request.app.state.settings
    missing = _missing_settings(settings)
    if missing:
        return _not_configured(missing)
    body = await request.body()
    if not signature:
        log.warning("LINE webhook refused: no X-Line-Signature header (%d-byte body not read)", len(body))
        return error(400, "missing_signature", "the X-Line-Signature header is required: only LINE may call this")
    assert settings.line_channel_secret is not None  # checked above
    from linebot.v3 import WebhookParser
    from linebot.v3.exceptions import InvalidSignatureError

    parser = WebhookParser(settings.line_channel_secret.get_secret_value())
    try:
        text = body.decode("utf-8")
        events = parser.parse(text, signature)
    except InvalidSignatureError:
        log.warning("LINE webhook refused: X-Line-Signature does not match (%d-byte body not read)", len(body))
        return error(400, "invalid_signature", "X-Line-Signature does not match the body and the channel secret")
    except UnicodeDecodeError:
        return error(400, "invalid_body", "the body is not UTF-8 text")
    except Exception:  # noqa: BLE001 - a signed body LINE's SDK cannot read: say so, never a 500
        log.warning("LINE webhook: a signed body could not be parsed as LINE events (%d bytes)", len(body))
        return error(400, "invalid_body", "the body is not a LINE webhook body: {destination, events: [...]}")
    for event in events:
        background.add_task(handle_event, request.app.state, event)
    return JSONResponse(WebhookAccepted(events=len(events)).model_dump())


def load_sdk(settings: Settings) -> bool:
    """Import line-bot-sdk now when LINE is configured, so the first event does not wait for it; True if it did."""
    if _missing_settings(settings):
        return False
    import linebot.v3.messaging
    import linebot.v3.webhooks  # noqa: F401

    return True


def _not_configured(missing: list[str]) -> JSONResponse:
    """503 naming the settings to set before LINE can be answered."""
    return error(
        503,
        "line_not_configured",
        f"the LINE channel is not configured: set {' and '.join(missing)} (from the LINE Developers console) "
        "and restart the server",
    )


def handle_event(state: State, event: Event) -> None:
    """Reply to one event, once (runs in the thread pool, after the webhook has answered)."""
    store: Store | None = getattr(state, "store", None)
    event_id = str(getattr(event, "webhook_event_id", None) or "")
    if store is not None and event_id:
        try:
            if not store.first_delivery(event_id):
                log.info("LINE event %s redelivered: answered already, skipped", event_id)
                return
        except StoreUnavailableError as exc:
            # Answering twice is better than not answering: LINE redelivers only on our failure anyway.
            log.warning("LINE event %s: cannot check for a redelivery (%s); answering anyway", event_id, exc)
    reply_token = getattr(event, "reply_token", None)
    mode = getattr(event, "mode", None)
    if not reply_token or str(getattr(mode, "value", mode)) == "standby":
        return  # unfollow, leave …, or another channel answers (module mode): nothing to reply
    assistant: Assistant | None = getattr(state, "assistant", None)
    if assistant is None:
        log.error("LINE event %s: the assistant is not loaded; no reply", event_id)
        return
    try:
        messages = _messages(assistant, store, event)
    except Exception:
        log.exception("LINE event %s: could not compose a reply", event_id)
        return
    if messages:
        send_reply(state.settings, reply_token, messages, event_id=event_id)


def _messages(assistant: Assistant, store: Store | None, event: Event) -> list[dict[str, Any]]:
    from linebot.v3.webhooks import FollowEvent, MessageEvent, PostbackEvent, TextMessageContent

    corpus = assistant.corpus
    session = session_of(event)
    if isinstance(event, FollowEvent):
        return line_messages.greeting_messages(corpus)
    if isinstance(event, MessageEvent) and isinstance(event.message, TextMessageContent):
        return _answer(assistant, store, event.message.text, session, town=None)
    if isinstance(event, MessageEvent):
        conversation = assistant.conversations.get(session) if session else None
        return line_messages.non_text_messages(corpus, conversation.lang if conversation else None)
    if isinstance(event, PostbackEvent):
        return _postback(assistant, store, event.postback.data, session)
    return []


def _answer(
    assistant: Assistant, store: Store | None, question: str, session: str | None, *, town: str | None
) -> list[dict[str, Any]]:
    # A LINE message may be up to 5000 characters; the assistant reads the first max_question_chars.
    question = question[: assistant.settings.max_question_chars]
    if not question.strip():
        return line_messages.non_text_messages(assistant.corpus, None)
    result = assistant.ask(question, session, town=town)
    if store is not None:
        store.recorder.record_answer(
            result, question=question, channel="line", session_id=session, latency_ms=result.elapsed_ms
        )
    return line_messages.answer_messages(assistant.corpus, result)


def _postback(assistant: Assistant, store: Store | None, data: str, session: str | None) -> list[dict[str, Any]]:
    """A tapped button: a category lists its projects; a town is remembered, and the project shown with it
    answered again for that town."""
    fields = parse_qs(data)
    conversation = assistant.conversations.get(session) if session else None
    lang = conversation.lang if conversation and conversation.lang else "ja"
    category = (fields.get(line_messages.CATEGORY_POSTBACK) or [""])[0]
    if category:
        town = conversation.town if conversation else None
        listed = line_messages.category_result(assistant.corpus, category, lang, town)
        return line_messages.answer_messages(assistant.corpus, listed) if listed else []
    town = (fields.get(line_messages.TOWN_POSTBACK) or [""])[0]
    if town not in assistant.corpus.zone.members:
        return []
    project = assistant.corpus.projects.get((fields.get("project") or [""])[0])
    if project is None:
        return line_messages.greeting_messages(assistant.corpus)
    # The project's name in the conversation's language is the question: the answer then says whether
    # it covers the town, and the conversation remembers the town for the next questions.
    return _answer(assistant, store, assistant.corpus.text(project, lang).name, session, town=town)


def send_reply(settings: Settings, reply_token: str, messages: list[dict[str, Any]], *, event_id: str) -> bool:
    """POST the reply through line-bot-sdk; log (masked) and give up on an error after at most one retry."""
    from linebot.v3.messaging import ApiClient, ApiException, Configuration, MessagingApi, ReplyMessageRequest

    token = settings.line_channel_access_token.get_secret_value() if settings.line_channel_access_token else ""
    configuration = Configuration(host=settings.line_api_base_url.rstrip("/"), access_token=token)
    configuration.retries = RETRY
    request = ReplyMessageRequest.from_dict({"replyToken": reply_token, "messages": messages})
    try:
        with ApiClient(configuration) as client:
            MessagingApi(client).reply_message(request, _request_timeout=REPLY_TIMEOUT)
    except ApiException as exc:
        log.warning("LINE reply for event %s refused: HTTP %s %s", event_id, exc.status, _reason(exc))
        return False
    except Exception as exc:  # noqa: BLE001 - connection refused, timeout …: logged, the reply is dropped
        log.warning("LINE reply for event %s failed: %s", event_id, type(exc).__name__)
        return False
    return True


def _reason(exc: ApiException) -> str:
    """LINE's own error message (e.g. 'Invalid reply token'), never the request we sent."""
    try:
        body = json.loads(exc.body or "{}")
    except (TypeError, ValueError):
        return str(exc.reason or "")
    message = body.get("message") if isinstance(body, dict) else None
    return str(message or exc.reason or "")
