"""The README's picture of a LINE reply: what the app sent to the LINE stand-in, drawn as a preview in chromium."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser
from pydantic import SecretStr

from api.app import create_app
from tests.api.line_fixtures import SECRET, TOKEN, body_of, line_stand_in, served, sign, text_event
from tests.browser.conftest import SCREENSHOTS
from tests.browser.line_preview import render

pytestmark = pytest.mark.slow

QUESTION = "子どもが熱を出して保育園に行けない"


def test_line_reply_preview_screenshot(settings, assistant, browser: Browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Saved to .cache/screenshots/line-reply.png (`make screenshots` copies it to docs/img/)."""
    with line_stand_in() as stand_in:
        configured = settings.model_copy(
            update={
                "data_dir": tmp_path,
                "database_url": "",
                "line_channel_secret": SecretStr(SECRET),
                "line_channel_access_token": SecretStr(TOKEN),
                "line_api_base_url": stand_in.base,
            }
        )
        with served(create_app(configured, assistant=assistant)) as base:
            sent = text_event(QUESTION)
            body = body_of(sent)
            response = httpx.post(f"{base}/line/webhook", content=body, headers={"X-Line-Signature": sign(body)})
            assert response.status_code == 200
            messages = stand_in.wait_for(sent["replyToken"])[0].body["messages"]
    page = browser.new_page(viewport={"width": 420, "height": 900})
    page.set_content(render(messages, QUESTION))
    assert page.get_by_text("病児・病後児保育事業", exact=True).count() >= 1
    assert page.get_by_text("下仁田町", exact=True).count() == 1  # the town buttons
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "line-reply.png"), full_page=True)
    page.close()
    assert (SCREENSHOTS / "line-reply.png").stat().st_size > 10_000
