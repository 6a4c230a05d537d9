"""The staff page in real headless Chromium: log in, read a masked question, filter, triage, download the CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect
from pydantic import SecretStr

from api.app import create_app
from tests.browser.conftest import DESKTOP, SCREENSHOTS, new_tab, serious_violations, serve

pytestmark = pytest.mark.slow

KEY = "staff-browser-test-key-0123456789"
WITH_PHONE = "電話番号は090-1234-5678です。病児保育はどこ？"
MASKED = "電話番号は[電話番号]です。病児保育はどこ？"
UNANSWERED = "今日の富岡の天気を教えて。090-8765-4321"
UNANSWERED_MASKED = "今日の富岡の天気を教えて。[電話番号]"
WAIT = 20_000
"""ms: the machine running the suite is shared and loaded; Playwright's default 5 s is too tight for a page load."""


@pytest.fixture(scope="module")
def staff_site(settings, assistant, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """The real app with an admin key, its own SQLite database and eval inbox, on a loopback port."""
    folder = tmp_path_factory.mktemp("staff")
    update = {
        "data_dir": folder / "data",
        "database_url": "",
        "admin_token": SecretStr(KEY),
        "inbox_dir": folder / "inbox",
    }
    app = create_app(settings.model_copy(update=update), assistant=assistant)
    with serve(app) as url:
        yield {"url": url, "inbox": folder / "inbox", "app": app}


def ask(url: str, question: str) -> dict[str, Any]:
    response = httpx.post(url + "/v1/ask", json={"question": question}, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_staff_log_in_read_filter_triage_download_and_screenshots(  # type: ignore[no-untyped-def]
    browser: Browser, staff_site: dict[str, Any], axe_source
) -> None:
    """The whole staff path; screenshots go to .cache/screenshots/admin-*.png (`make screenshots` copies them)."""
    url, inbox = staff_site["url"], staff_site["inbox"]
    answered = ask(url, WITH_PHONE)
    unanswered = ask(url, UNANSWERED)
    assert answered["abstained"] is False and unanswered["abstained"] is True
    assert staff_site["app"].state.store.recorder.flush(20)

    opened = new_tab(browser, DESKTOP, init_scripts=(axe_source,))
    page = opened.page
    page.set_default_timeout(WAIT)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    # Log in: a wrong key is refused, the right one opens the overview.
    response = page.goto(url + "/admin")
    assert response is not None and response.status == 401
    page.get_by_label("管理キー").fill("wrong-key")
    page.get_by_role("button", name="ログイン").click()
    expect(page.get_by_role("alert")).to_have_text("管理キーが違います。", timeout=WAIT)
    page.get_by_label("管理キー").fill(KEY)
    page.get_by_role("button", name="ログイン").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("概要", timeout=WAIT)
    expect(page.locator("main")).to_contain_text(UNANSWERED_MASKED, timeout=WAIT)
    assert serious_violations(page) == []
    page.screenshot(path=str(SCREENSHOTS / "admin-overview.png"), full_page=True)

    # The question just asked, with its phone number masked.
    page.get_by_role("link", name="質問一覧").click()
    row = page.locator(f"#q-{answered['answer_id']}")
    expect(row).to_contain_text(MASKED, timeout=WAIT)
    expect(row).to_contain_text("病児・病後児保育事業", timeout=WAIT)  # the project it was answered with, by name
    assert "090-1234-5678" not in page.content() and "090-8765-4321" not in page.content()

    # Filter to the unanswered ones.
    page.locator("select[name=abstained]").select_option("true")
    page.get_by_role("button", name="絞り込む").click()
    expect(page.locator("tbody tr")).to_have_count(1, timeout=WAIT)
    row = page.locator(f"#q-{unanswered['answer_id']}")
    expect(row).to_contain_text(UNANSWERED_MASKED, timeout=WAIT)
    assert "abstained=true" in page.url

    # Triage it as "not covered by any project": it lands in the inbox, masked.
    row.locator("select[name=project]").select_option("__none__")
    row.get_by_role("button", name="評価用に記録").click()
    expect(page.locator(f"#q-{unanswered['answer_id']} .triaged")).to_contain_text(
        "どの事業にも当たらない", timeout=WAIT
    )
    assert "abstained=true" in page.url  # back on the filtered table
    (path,) = inbox.glob("*.jsonl")
    (line,) = [json.loads(raw) for raw in path.read_text(encoding="utf-8").splitlines()]
    assert line["question"] == UNANSWERED_MASKED and line["expected"] == [] and line["kind"] == "out_of_scope"
    assert line["id"].endswith(unanswered["answer_id"][:12])
    assert serious_violations(page) == []
    page.locator("select[name=abstained]").select_option("")
    page.get_by_role("button", name="絞り込む").click()
    expect(page.locator("tbody tr")).to_have_count(2, timeout=WAIT)  # the new page, not the filtered one still showing
    page.screenshot(path=str(SCREENSHOTS / "admin-questions.png"))

    # Download the CSV (all questions, as filtered: none).
    with page.expect_download() as download_info:
        page.get_by_role("link", name="CSV をダウンロード").click()
    download = download_info.value
    assert download.suggested_filename.startswith("questions-") and download.suggested_filename.endswith(".csv")
    raw = Path(download.path()).read_bytes()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert {row["answer_id"]: row["question"] for row in rows} == {
        answered["answer_id"]: MASKED,
        unanswered["answer_id"]: UNANSWERED_MASKED,
    }

    # English, remembered across pages; then log out.
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Questions", timeout=WAIT)
    page.get_by_role("link", name="Unanswered").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Unanswered", timeout=WAIT)
    expect(page.locator(f"#q-{unanswered['answer_id']} .triaged")).to_contain_text(
        "Not covered by any project", timeout=WAIT
    )
    page.screenshot(path=str(SCREENSHOTS / "admin-unanswered-en.png"), full_page=True)
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Staff login", timeout=WAIT)
    assert page.goto(url + "/admin/list") is not None and page.get_by_label("Admin key").is_visible()

    assert opened.violations() == [], opened.violations()
    assert opened.errors == []
    for name in ("admin-overview", "admin-questions", "admin-unanswered-en"):
        assert (SCREENSHOTS / f"{name}.png").stat().st_size > 20_000
    opened.page.context.close()
