"""The LINE webhook through the running app (uvicorn on loopback), replying to a real HTTP stand-in for LINE."""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from api.app import create_app
from api.line_messages import MAX_LABEL_CHARS, MAX_QUICK_REPLY_ITEMS
from tests.api.line_fixtures import (
    SECRET,
    TOKEN,
    LineStandIn,
    body_of,
    event,
    image_event,
    line_stand_in,
    served,
    sign,
    sticker_event,
    text_event,
)

pytestmark = pytest.mark.slow

SICK_CHILD = "子どもが熱を出して保育園に行けない"


class Line:
    """The app with LINE configured, the stand-in it replies to, and its database."""

    def __init__(self, base: str, stand_in: LineStandIn, app: Any, data: Path) -> None:
        self.base, self.stand_in, self.app, self.data = base, stand_in, app, data

    def post(self, body: bytes, signature: str | None = "sign") -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if signature == "sign":
            headers["X-Line-Signature"] = sign(body)
        elif signature is not None:
            headers["X-Line-Signature"] = signature
        return httpx.post(f"{self.base}/line/webhook", content=body, headers=headers, timeout=60)

    def send(self, *events: dict[str, Any]) -> httpx.Response:
        response = self.post(body_of(*events))
        assert response.status_code == 200, response.text
        return response

    def reply_to(self, sent: dict[str, Any]) -> dict[str, Any]:
        """The one reply the stand-in received for ``sent`` (its reply token)."""
        replies = self.stand_in.wait_for(sent["replyToken"])
        return replies[0].body  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def line(settings, assistant, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Line]:  # type: ignore[no-untyped-def]
    data = tmp_path_factory.mktemp("line-data")
    with line_stand_in() as stand_in:
        configured = settings.model_copy(
            update={
                "data_dir": data,
                "database_url": "",
                "line_channel_secret": SecretStr(SECRET),
                "line_channel_access_token": SecretStr(TOKEN),
                "line_api_base_url": stand_in.base,
            }
        )
        app = create_app(configured, assistant=assistant)
        with served(app) as base:
            yield Line(base, stand_in, app, data)


@pytest.fixture(autouse=True)
def _reset(line: Line) -> None:
    line.stand_in.status = 200
    line.stand_in.hold.set()


def texts(reply: dict[str, Any]) -> list[str]:
    return [m["text"] for m in reply["messages"] if m["type"] == "text"]


def flex_texts(node: Any) -> list[str]:
    """Every text of a Flex message, depth first."""
    if isinstance(node, dict):
        found = [node["text"]] if node.get("type") == "text" and "text" in node else []
        for value in node.values():
            found += flex_texts(value)
        return found
    if isinstance(node, list):
        return [t for item in node for t in flex_texts(item)]
    return []


def check_quick_reply(message: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = message["quickReply"]["items"]
    assert 1 <= len(items) <= MAX_QUICK_REPLY_ITEMS
    labels = [item["action"]["label"] for item in items]
    assert all(1 <= len(label) <= MAX_LABEL_CHARS for label in labels), labels
    assert len(set(labels)) == len(labels)
    return items


def test_a_text_message_is_answered_with_the_card_and_quick_replies(line: Line) -> None:
    sent = text_event(SICK_CHILD)
    line.send(sent)
    received = line.stand_in.wait_for(sent["replyToken"])
    assert len(received) == 1
    request = received[0]
    assert request.path == "/v2/bot/message/reply"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    reply = request.body
    assert reply["replyToken"] == sent["replyToken"]
    messages = reply["messages"]
    assert 2 <= len(messages) <= 5
    answer = messages[0]
    assert answer["type"] == "text" and "病児・病後児保育事業" in answer["text"] and len(answer["text"]) <= 5000
    flex = messages[1]
    assert flex["type"] == "flex" and "病児・病後児保育事業" in flex["altText"] and len(flex["altText"]) <= 400
    card = flex["contents"] if flex["contents"]["type"] == "bubble" else flex["contents"]["contents"][0]
    words = flex_texts(card)
    assert words[0] == "病児・病後児保育事業"
    assert any(w in ("計画段階", "協議・検討中", "実施中") for w in words)  # the status badge
    assert any("子育て支援の充実" in w for w in words)  # the category path
    assert any(w.startswith("・出典：「") and "ページ" in w for w in words)  # source and page
    items = check_quick_reply(messages[-1])
    actions = [item["action"] for item in items]
    assert {"どこで？", "だれが使える？"} <= {a.get("text") for a in actions if a["type"] == "message"}
    towns = [a for a in actions if a["type"] == "postback" and a["data"].startswith("town=")]
    assert [a["label"] for a in towns] == ["富岡市", "下仁田町", "南牧村", "甘楽町"]  # the town is not known yet
    assert towns[1]["data"] == "town=下仁田町&project=sick-child-care"
    assert {"type": "postback", "label": "子育て支援の充実", "data": "category=子育て支援の充実"}.items() <= next(
        a for a in actions if a.get("data", "").startswith("category=")
    ).items()


def test_the_webhook_answers_before_the_reply_is_sent(line: Line) -> None:
    line.stand_in.hold.clear()  # LINE's API is slow: the reply waits at the stand-in
    sent = text_event(SICK_CHILD)
    started = time.monotonic()
    response = line.send(sent)
    assert response.json() == {"status": "accepted", "events": 1}
    line.stand_in.wait_for(sent["replyToken"])  # the reply is in flight, still unanswered by "LINE"
    assert time.monotonic() - started < 60
    line.stand_in.hold.set()


def test_a_town_button_sets_the_town_and_says_whether_the_project_covers_it(line: Line) -> None:
    user = "U" + "1" * 32
    first = text_event("大きな家具を捨てたい。粗大ごみの持ち込みは？", user=user)
    line.send(first)
    reply = line.reply_to(first)
    postbacks = [i["action"] for i in reply["messages"][-1]["quickReply"]["items"] if i["action"]["type"] == "postback"]
    shimonita = next(a for a in postbacks if a["label"] == "下仁田町")
    tapped = event("postback", user=user, postback={"data": shimonita["data"]})
    line.send(tapped)
    answer = texts(line.reply_to(tapped))[0]
    assert "下仁田町は対象に含まれていません" in answer
    # The conversation remembers the town: the next answer says it, and offers no town buttons.
    later = text_event("子どもが熱を出して保育園に行けない", user=user)
    line.send(later)
    reply = line.reply_to(later)
    assert "この事業は下仁田町も対象です。" in texts(reply)[0]
    assert not [i for i in reply["messages"][-1]["quickReply"]["items"] if "town=" in i["action"].get("data", "")]


def test_a_category_button_lists_every_project_of_the_category(line: Line) -> None:
    tapped = event("postback", user="U" + "4" * 32, postback={"data": "category=子育て支援の充実"})
    line.send(tapped)
    reply = line.reply_to(tapped)
    assert texts(reply)[0].startswith("ご質問に当てはまる連携事業は次の")
    cards = reply["messages"][1]["contents"]["contents"]
    names = [flex_texts(card)[0] for card in cards]
    assert "病児・病後児保育事業" in names and len(names) >= 2
    check_quick_reply(reply["messages"][-1])


def test_follow_greets_with_what_the_assistant_answers(line: Line) -> None:
    sent = event("follow", follow={"isUnblocked": False})
    line.send(sent)
    (greeting,) = texts(line.reply_to(sent))
    assert "連携事業について、ご質問にお答えします" in greeting and "Hello." in greeting
    assert "医療" in greeting and "地域公共交通" in greeting and "Medical care" in greeting


@pytest.mark.parametrize("make", [sticker_event, image_event], ids=["sticker", "image"])
def test_non_text_messages_get_a_polite_request_for_text(line: Line, make: Any) -> None:
    sent = make(user="U" + "2" * 32)
    line.send(sent)
    (reply,) = texts(line.reply_to(sent))
    assert "文字" in reply and "text" in reply


def test_the_verification_request_answers_200_and_replies_nothing(line: Line) -> None:
    before = len(line.stand_in.replies())
    response = line.post(body_of())
    assert response.status_code == 200 and response.json() == {"status": "accepted", "events": 0}
    time.sleep(0.5)
    assert len(line.stand_in.replies()) == before


def test_missing_and_wrong_signatures_are_refused_without_logging_the_body(
    line: Line, caplog: pytest.LogCaptureFixture
) -> None:
    marker = "秘密の相談内容-4711"
    body = body_of(text_event(marker))
    caplog.set_level(logging.DEBUG)
    missing = line.post(body, signature=None)
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "missing_signature"
    wrong = line.post(body, signature=sign(body, secret="not-the-secret"))
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "invalid_signature"
    tampered = line.post(body.replace(marker.encode(), b"x"), signature=sign(body))
    assert tampered.status_code == 400
    assert "X-Line-Signature" in wrong.json()["error"]["message"]
    assert marker not in caplog.text and "does not match" in caplog.text
    time.sleep(0.3)
    assert not [r for r in line.stand_in.replies() if marker in str(r.body)]


def test_a_signed_body_that_is_not_a_webhook_body_is_400(line: Line) -> None:
    for body in (b"not json", b'{"events": 5}', "\udcff".encode("utf-8", "surrogatepass")):
        response = line.post(body)
        assert response.status_code == 400, body
        assert response.json()["error"]["code"] == "invalid_body"


def test_a_redelivered_event_is_answered_once(line: Line) -> None:
    sent = text_event("デマンドタクシーはありますか")
    again = {**sent, "deliveryContext": {"isRedelivery": True}}
    line.send(sent)
    line.send(again)
    line.stand_in.wait_for(sent["replyToken"])
    time.sleep(1.0)  # a second reply would have arrived by now
    assert len(line.stand_in.replies(sent["replyToken"])) == 1


def test_the_question_is_recorded_with_channel_line_and_a_hashed_user(line: Line) -> None:
    user = "U" + "3" * 32
    sent = text_event("手話の講座に参加したい", user=user)
    line.send(sent)
    line.reply_to(sent)
    assert line.app.state.store.recorder.flush(20)
    database = line.data / "assistant.db"
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT channel, question, session_hash FROM questions WHERE question = ?", ("手話の講座に参加したい",)
        ).fetchall()
    assert len(rows) == 1
    channel, question, session_hash = rows[0]
    assert channel == "line" and question == "手話の講座に参加したい"
    assert session_hash and user not in session_hash
    raw_hash = hashlib.sha256(user.encode()).hexdigest()
    assert session_hash != raw_hash  # not even a plain hash of the raw id
    stored = b"".join(p.read_bytes() for p in line.data.glob("assistant.db*"))
    assert user.encode() not in stored


def test_a_line_error_is_logged_and_not_retried(line: Line, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="assistant.line")
    line.stand_in.status = 400
    sent = text_event(SICK_CHILD)
    line.send(sent)
    line.stand_in.wait_for(sent["replyToken"])
    deadline = time.monotonic() + 20
    while "Invalid reply token" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "HTTP 400 Invalid reply token" in caplog.text
    time.sleep(1.5)
    assert len(line.stand_in.replies(sent["replyToken"])) == 1  # no retry on a 4xx
    line.stand_in.status = 200
    after = text_event(SICK_CHILD)
    line.send(after)
    line.reply_to(after)  # the app goes on


def test_a_5xx_from_line_is_retried_once_only(line: Line, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="assistant.line")
    line.stand_in.status = 503
    sent = text_event(SICK_CHILD)
    line.send(sent)
    line.stand_in.wait_for(sent["replyToken"], count=2)
    deadline = time.monotonic() + 20
    while "HTTP 503" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.5)
    assert len(line.stand_in.replies(sent["replyToken"])) == 2 and "HTTP 503" in caplog.text


def test_no_channel_secret_is_503_saying_what_to_set(settings, assistant, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    app = create_app(settings.model_copy(update={"data_dir": tmp_path, "database_url": ""}), assistant=assistant)
    with served(app) as base:
        body = body_of(text_event(SICK_CHILD))
        response = httpx.post(f"{base}/line/webhook", content=body, headers={"X-Line-Signature": sign(body)})
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "line_not_configured" and "ASSISTANT_LINE_CHANNEL_SECRET" in error["message"]


def test_the_route_is_documented(line: Line) -> None:
    schema = httpx.get(f"{line.base}/openapi.json").json()
    operation = schema["paths"]["/line/webhook"]["post"]
    assert {"200", "400", "503"} <= set(operation["responses"])
    assert any(p["name"] == "X-Line-Signature" for p in operation["parameters"])


def test_line_bot_sdk_is_loaded_at_start_only_when_line_is_configured(tmp_path: Path) -> None:
    """A web-only server does not hold the SDK's models (about 32 MB); a LINE server loads them before any event."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from pydantic import SecretStr\n"
        "from api.app import create_app\n"
        "from api.routes import line\n"
        "from assistant.config import Settings\n"
        f"web = Settings(data_dir={str(tmp_path)!r})\n"
        "create_app(web)\n"
        "print(line.load_sdk(web), 'linebot' in sys.modules)\n"
        "configured = web.model_copy(update={'line_channel_secret': SecretStr('s'),"
        " 'line_channel_access_token': SecretStr('t')})\n"
        "print(line.load_sdk(configured), 'linebot.v3.messaging' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["False False", "True True"]
