"""The chat widget in real headless Chromium, against the real app on a loopback port.

Each test does what a resident (or a municipality's web page) does: open the page, type, press keys,
click, and reads what the page shows. Nothing of ours is mocked; the only stand-ins are the host
sites on other origins (``tests/browser/conftest.py``).
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, Request, expect
from sqlalchemy import select

from assistant.config import Settings
from assistant.store.models import Feedback
from assistant.store.runtime import Store
from tests.api.test_widget import csp_directives
from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    SCREENSHOTS,
    HostSite,
    Tab,
    embed,
    new_tab,
    serious_violations,
)

pytestmark = pytest.mark.slow

FEVER = "子どもが熱を出して保育園に行けない"
SICK_CHILD_CARE = "病児・病後児保育事業"


# ---------------------------------------------------------------------------------------------- helpers


def widget(page: Page) -> Locator:
    """The widget's host element; Playwright's CSS locators pierce its open shadow root."""
    return page.locator("tk-assistant")


def open_widget(page: Page, label: str = "チャットで質問") -> None:
    widget(page).get_by_role("button", name=label).click()
    expect(widget(page).get_by_role("dialog")).to_be_visible()


def ask(page: Page, question: str) -> dict[str, Any]:
    """Type a question, press Enter, wait for the answer to show; return the API's JSON."""
    box = widget(page).locator("#tk-input")
    box.fill(question)
    turns = widget(page).locator(".answer").count()
    with page.expect_response(lambda r: r.url.endswith("/v1/ask")) as response_info:
        box.press("Enter")
    response = response_info.value
    assert response.status == 200, response.text()
    expect(widget(page).locator(".answer")).to_have_count(turns + 1)
    body: dict[str, Any] = response.json()
    return body


def last_answer(page: Page) -> Locator:
    return widget(page).locator(".answer").last


def focused(page: Page) -> str:
    """What has the keyboard focus, looking into the widget's shadow root: 'tag#id.class'."""
    return str(
        page.evaluate(
            """() => {
              let el = document.activeElement;
              while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
              if (!el) return "";
              return el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className ? "." + el.className : "");
            }"""
        )
    )


def assert_feedback_stored(settings: Settings, answer_id: str, helpful: bool) -> None:
    """The resident's 👍/👎 reaches the database, on the answer it was given for.

    The store writes off the request path, in batches a fraction of a second apart: wait up to 10 s.
    """
    store = Store(settings)
    try:
        deadline = time.monotonic() + 10
        while True:
            with store.session() as session:
                row = session.scalars(select(Feedback).where(Feedback.answer_id == answer_id)).one_or_none()
            if row is not None or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    finally:
        store.close()
    assert row is not None, f"no feedback stored for answer {answer_id}"
    assert row.helpful is helpful


# ---------------------------------------------------------------------------------------------- asking


def test_a_resident_asks_and_sees_the_project_card(tab: Tab, live: str) -> None:
    page = tab.page
    page.goto(live + "/")
    open_widget(page)
    with page.expect_request(lambda r: r.url.endswith("/v1/ask")) as request_info:
        body = ask(page, FEVER)
    request = request_info.value
    assert request.headers["x-assistant-channel"] == "widget"
    assert request.headers["content-type"] == "application/json"
    sent = request.post_data_json
    assert sent["question"] == FEVER and len(sent["session_id"]) == 32 and "town" not in sent

    assert body["citations"][0]["project_id"] == "sick-child-care"
    answer = last_answer(page)
    expect(answer).to_have_attribute("lang", "ja")
    expect(answer.locator(".text")).to_have_text(body["answer"])
    card = answer.locator(".card").first
    expect(card.locator(".card-name")).to_have_text(SICK_CHILD_CARE)
    expect(card.locator(".badge")).to_have_text("状況：計画段階")
    expect(card.locator(".badge")).to_be_visible()
    expect(card.locator(".card-path")).to_have_text("分野：生活機能の強化 › 福祉 › 子育て支援の充実")
    expect(card.locator(".card-source")).to_have_text("出典：定住自立圏連携事業（案） 1ページ")
    chips = widget(page).locator(".chips button")
    expect(chips).to_have_text(["どこで？", "だれが使える？", "いつから？"])
    expect(widget(page).locator(".notice")).to_have_text(
        "お名前・電話番号・住所・マイナンバーなどの個人情報は入力しないでください。"
    )
    expect(widget(page).locator("#tk-input")).to_have_value("")
    assert tab.violations() == []


def test_a_follow_up_resolves_to_the_same_project_in_the_same_session(tab: Tab, live: str) -> None:
    page = tab.page
    page.goto(live + "/")
    open_widget(page)
    with page.expect_request(lambda r: r.url.endswith("/v1/ask")) as first_request:
        ask(page, FEVER)
    with page.expect_request(lambda r: r.url.endswith("/v1/ask")) as second_request:
        follow = ask(page, "それはどこにありますか？")
    session = first_request.value.post_data_json["session_id"]
    assert second_request.value.post_data_json["session_id"] == session
    assert page.evaluate("sessionStorage.getItem('tk-assistant:session')") == session
    assert follow["follow_up"] is True
    expect(last_answer(page).locator(".card-name")).to_have_text([SICK_CHILD_CARE])
    expect(widget(page).locator(".chips")).to_have_count(1)  # only the latest answer offers follow-ups

    # A follow-up button sends its question in the same conversation.
    with page.expect_response(lambda r: r.url.endswith("/v1/ask")) as clicked:
        widget(page).get_by_role("button", name="だれが使える？").click()
    assert clicked.value.json()["follow_up"] is True
    expect(widget(page).locator(".answer")).to_have_count(3)
    expect(last_answer(page).locator(".card-name")).to_have_text([SICK_CHILD_CARE])

    # The session lives as long as the tab: a reload keeps it, another tab (context) gets its own.
    page.reload()
    assert page.evaluate("sessionStorage.getItem('tk-assistant:session')") == session
    other = new_tab(page.context.browser)  # type: ignore[arg-type]
    other.page.goto(live + "/")
    assert other.page.evaluate("sessionStorage.getItem('tk-assistant:session')") not in (None, session)
    other.page.context.close()


def test_thumbs_down_posts_feedback_for_that_answer(tab: Tab, live: str, settings: Settings) -> None:
    page = tab.page
    page.goto(live + "/")
    open_widget(page)
    body = ask(page, FEVER)
    with page.expect_request(lambda r: r.url.endswith("/v1/feedback")) as request_info:
        last_answer(page).get_by_role("button", name="役に立たなかった").click()
    request: Request = request_info.value
    assert request.method == "POST"
    assert request.post_data_json == {"answer_id": body["answer_id"], "helpful": False}
    assert request.headers["content-type"] == "application/json"
    response = request.response()
    assert response is not None
    assert response.status == 201
    expect(last_answer(page).locator(".rate-note")).to_have_text("ご意見ありがとうございました。")
    assert_feedback_stored(settings, body["answer_id"], False)


def test_markup_in_a_question_is_shown_as_text_and_runs_nothing(tab: Tab, live: str) -> None:
    page = tab.page
    page.goto(live + "/")
    open_widget(page)
    payload = '<img src=x onerror="window.__xss=1">'
    ask(page, payload)
    question = widget(page).locator(".question .text").last
    expect(question).to_have_text(payload)
    assert question.evaluate("el => el.childElementCount") == 0
    page.wait_for_timeout(300)  # an injected <img src=x> would have failed to load and fired onerror by now
    assert page.evaluate("typeof window.__xss") == "undefined"
    counts = page.evaluate(
        """() => [document.querySelectorAll('img').length,
                  document.querySelector('tk-assistant').shadowRoot.querySelectorAll('img').length]"""
    )
    assert counts == [0, 0]
    assert not [r for r in tab.requests if r.endswith("/x")], "the browser tried to load the injected image"
    assert tab.violations() == []


def test_the_town_choice_is_sent_and_remembered_for_the_tab(tab: Tab, live: str) -> None:
    page = tab.page
    page.goto(live + "/")
    open_widget(page)
    widget(page).get_by_label("お住まい").select_option("下仁田町")
    with page.expect_request(lambda r: r.url.endswith("/v1/ask")) as request_info:
        ask(page, FEVER)
    assert request_info.value.post_data_json["town"] == "下仁田町"
    page.reload()
    open_widget(page)
    expect(widget(page).get_by_label("お住まい")).to_have_value("下仁田町")
    widget(page).get_by_label("お住まい").select_option("")
    with page.expect_request(lambda r: r.url.endswith("/v1/ask")) as unset:
        ask(page, FEVER)
    assert "town" not in unset.value.post_data_json


def test_english_ui_toggle_and_answers_in_the_language_the_api_chooses(tab: Tab, live: str) -> None:
    page = tab.page
    page.goto(live + "/")
    open_widget(page)
    widget(page).get_by_role("button", name="English").click()
    expect(widget(page).locator(".tk")).to_have_attribute("lang", "en")
    expect(widget(page).get_by_role("button", name="Ask a question")).to_be_visible()
    expect(widget(page).get_by_role("dialog", name="Joint services assistant")).to_be_visible()
    # A Vietnamese question is answered in Vietnamese; the UI stays as the resident set it.
    body = ask(page, "Con tôi bị sốt, không thể đi nhà trẻ. Tôi có thể gửi cháu ở đâu?")
    assert body["answer_lang"] == "vi"
    expect(last_answer(page)).to_have_attribute("lang", "vi")
    expect(last_answer(page).locator(".card-path")).to_have_text(
        "Category: Tăng cường chức năng đời sống › Phúc lợi xã hội › Hoàn thiện hỗ trợ nuôi dạy con"
    )
    expect(widget(page).locator(".chips button")).to_have_text(["Ở đâu?", "Ai có thể sử dụng?", "Khi nào bắt đầu?"])
    # An English question gets an English answer.
    body = ask(page, "where can I get sick-child care?")
    assert body["answer_lang"] == "en"
    answer = last_answer(page)
    expect(answer).to_have_attribute("lang", "en")
    card = answer.locator(".card").first
    expect(card.locator(".card-path")).to_have_text(
        "Category: Strengthening daily-life functions › Welfare › Better child-rearing support"
    )
    expect(card.locator(".badge")).to_have_text("Status: Planned")
    expect(widget(page).locator(".chips button")).to_have_text(
        ["Where is it?", "Who can use it?", "When does it start?"]
    )
    # A Japanese question in the English UI gets a Japanese answer.
    assert ask(page, FEVER)["answer_lang"] == "ja"
    expect(last_answer(page).locator(".card-path")).to_have_text("Category: 生活機能の強化 › 福祉 › 子育て支援の充実")
    page.reload()  # the choice holds for the tab
    expect(widget(page).get_by_role("button", name="Ask a question")).to_be_visible()


def test_an_abstention_is_a_plain_answer_without_cards_or_follow_ups(tab: Tab, live: str) -> None:
    page = tab.page
    page.goto(live + "/")
    open_widget(page)
    body = ask(page, "パスポートの申請はどこでできますか")
    assert body["abstained"] is True
    expect(last_answer(page).locator(".text")).to_have_text(body["answer"])
    expect(last_answer(page).locator(".card")).to_have_count(0)
    expect(widget(page).locator(".chips")).to_have_count(0)
    expect(last_answer(page).get_by_role("button", name="役に立った")).to_be_visible()


# ---------------------------------------------------------------------------------------------- failures


def send_and_expect_error(page: Page, question: str, message: str) -> None:
    box = widget(page).locator("#tk-input")
    box.fill(question)
    box.press("Enter")
    expect(widget(page).locator(".status.error")).to_have_text(message)
    expect(box).to_have_value(question)  # nothing typed is lost
    expect(widget(page).locator(".answer")).to_have_count(0)


def test_an_over_long_question_shows_the_apis_message_and_keeps_the_text(tab: Tab, live: str) -> None:
    page = tab.page
    page.goto(live + "/")
    open_widget(page)
    send_and_expect_error(
        page, "あ" * 600, "質問を送れませんでした：'question' is 600 characters long; the limit is 500"
    )
    widget(page).locator("#tk-input").fill("   ")
    widget(page).locator("#tk-input").press("Enter")
    expect(widget(page).locator(".status.error")).to_have_text("質問を入力してください。")


def test_a_server_that_is_not_ready_gets_a_polite_message(tab: Tab, host_site: HostSite, starting: str) -> None:
    page = tab.page
    page.goto(host_site.page("/not-ready.html", embed(starting)))
    open_widget(page)
    send_and_expect_error(
        page, FEVER, "ただいま回答できません。しばらくしてから、もう一度お試しください。入力した質問は残っています。"
    )


def test_an_unreachable_server_gets_a_polite_message(tab: Tab, host_site: HostSite, live: str) -> None:
    from tests.browser.conftest import listening_socket

    sock = listening_socket()
    closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()  # nothing listens there now
    # widget.js comes from the live app; the API it is told to call is down.
    page = tab.page
    page.goto(host_site.page("/down.html", embed(closed, script_api=live)))
    open_widget(page)
    send_and_expect_error(
        page, FEVER, "通信できませんでした。接続を確かめて、もう一度お試しください。入力した質問は残っています。"
    )


def test_a_site_not_in_the_allowed_origins_cannot_use_the_api(tab: Tab, stranger_site: HostSite, live: str) -> None:
    page = tab.page
    page.goto(stranger_site.page("/stranger.html", embed(live)))
    open_widget(page)
    send_and_expect_error(
        page, FEVER, "通信できませんでした。接続を確かめて、もう一度お試しください。入力した質問は残っています。"
    )


# ---------------------------------------------------------------------------------------------- keyboard


def test_keyboard_only(tab: Tab, live: str) -> None:
    page = tab.page
    page.goto(live + "/")
    for _ in range(40):
        page.keyboard.press("Tab")
        if focused(page).startswith("button.launcher"):
            break
    assert focused(page).startswith("button.launcher"), f"Tab never reached the launcher (at {focused(page)})"
    launcher = widget(page).locator(".launcher")
    outline = launcher.evaluate(
        "el => [getComputedStyle(el).outlineStyle, parseFloat(getComputedStyle(el).outlineWidth)]"
    )
    assert outline[0] != "none" and outline[1] >= 2, f"no visible focus on the launcher: {outline}"

    page.keyboard.press("Enter")
    expect(widget(page).get_by_role("dialog")).to_be_visible()
    expect(launcher).to_have_attribute("aria-expanded", "true")
    assert focused(page) == "textarea#tk-input"

    page.keyboard.type("子どもが熱を出して")
    page.keyboard.press("Shift+Enter")  # a new line, not a send
    page.keyboard.type("保育園に行けない")
    expect(widget(page).locator("#tk-input")).to_have_value("子どもが熱を出して\n保育園に行けない")
    expect(widget(page).locator(".answer")).to_have_count(0)
    with page.expect_response(lambda r: r.url.endswith("/v1/ask")) as response_info:
        page.keyboard.press("Enter")
    assert response_info.value.json()["citations"][0]["project_id"] == "sick-child-care"
    expect(last_answer(page).locator(".card-name").first).to_have_text(SICK_CHILD_CARE)
    assert focused(page) == "textarea#tk-input", "focus must stay in the box after sending"

    # Tab order: the box, then Send; backwards through the town, the answer's buttons, the log, the header.
    page.keyboard.press("Tab")
    assert focused(page) == "button.send"
    order = []
    for _ in range(12):
        page.keyboard.press("Shift+Tab")
        order.append(focused(page))
        if order[-1].startswith("button.launcher"):
            break
    assert order == [
        "textarea#tk-input",
        "select#tk-town",
        *["button"] * 3,  # the follow-up buttons
        *["button"] * 2,  # 👎 and 👍
        "div.log",  # the conversation itself, so it can be scrolled with the keyboard
        "button",  # close
        "button",  # English
        "button.launcher",
    ], order

    page.keyboard.press("Tab")  # into the panel again, then Esc from anywhere inside
    page.keyboard.press("Escape")
    expect(widget(page).get_by_role("dialog")).to_be_hidden()
    expect(launcher).to_have_attribute("aria-expanded", "false")
    assert focused(page).startswith("button.launcher")


# ---------------------------------------------------------------------------------------------- isolation


HOSTILE_CSS = """<style>
html { font-size: 40px; }
* { color: red !important; font-size: 40px; line-height: 3 !important; font-family: serif !important;
    letter-spacing: 4px; box-sizing: content-box !important; }
button { display: none; }
section, h2, h3, p, textarea, select, span, div { all: unset !important; }
.tk, .launcher, .panel, .card, .badge, .msg, .log { display: none !important; background: lime !important; }
</style>"""
DECOYS = (
    '<div class="panel" id="d-panel">panel</div><p class="card" id="d-card">card</p>'
    '<span class="badge" id="d-badge">badge</span><p class="msg question" id="d-msg">msg</p>'
    '<p class="sr" id="d-sr">sr</p>'
)
WIDGET_PARTS = [".launcher", ".panel", ".title", "#tk-input", ".send", ".notice", ".card-name", ".badge", ".question"]
PROPS = ["color", "background-color", "font-size", "font-family", "line-height", "letter-spacing", "display",
         "box-sizing", "width", "height", "padding-top", "border-top-width"]  # fmt: skip
DECOY_PROPS = ["color", "background-color", "font-size", "display", "position", "width", "padding-top",
               "border-top-width"]  # fmt: skip


def computed(page: Page, selector: str, props: list[str], *, shadow: bool) -> dict[str, str]:
    return dict(
        page.evaluate(
            """([selector, props, shadow]) => {
              const scope = shadow ? document.querySelector('tk-assistant').shadowRoot : document;
              const style = getComputedStyle(scope.querySelector(selector));
              return props.map(p => [p, style.getPropertyValue(p)]);
            }""",
            [selector, props, shadow],
        )
    )


def widget_styles(page: Page) -> dict[str, dict[str, str]]:
    open_widget(page)
    ask(page, FEVER)
    page.mouse.move(1, 1)  # no hover state; the tabs prefer reduced motion, so no transition is half-way
    return {part: computed(page, part, PROPS, shadow=True) for part in WIDGET_PARTS}


def test_host_page_css_and_widget_css_do_not_touch(browser: Browser, host_site: HostSite, live: str) -> None:
    plain = new_tab(browser, reduced_motion="reduce")
    plain.page.goto(host_site.page("/plain.html", embed(live, body=DECOYS)))
    reference = widget_styles(plain.page)

    hostile = new_tab(browser, reduced_motion="reduce")
    hostile.page.goto(host_site.page("/hostile.html", embed(live, head=HOSTILE_CSS, body=DECOYS)))
    with hostile.page.expect_request(lambda r: r.url.endswith("/v1/ask")) as request_info:
        styles = widget_styles(hostile.page)  # also: the cross-origin call passes CORS with its headers
    assert request_info.value.headers["x-assistant-channel"] == "widget"
    for part in WIDGET_PARTS:
        assert styles[part] == reference[part], f"the host page's CSS changed the widget's {part}"
    assert styles[".launcher"]["color"] == "rgb(255, 255, 255)" and styles[".card-name"]["font-size"] == "16px"

    # ... and the widget's CSS does not reach the host page's own elements that share its class names.
    without = new_tab(browser)
    without.page.goto(host_site.page("/no-widget.html", embed(live, body=DECOYS, widget=False)))
    for decoy in ["#d-panel", "#d-card", "#d-badge", "#d-msg", "#d-sr"]:
        before = computed(without.page, decoy, DECOY_PROPS, shadow=False)
        after = computed(plain.page, decoy, DECOY_PROPS, shadow=False)
        assert after == before, f"the widget's CSS leaked onto the host page's {decoy}"
    for opened in (plain, hostile, without):
        assert opened.errors == [], opened.errors
        opened.page.context.close()


# ---------------------------------------------------------------------------------------------- CSP, axe, screenshots


def test_the_demo_page_works_under_its_strict_csp(tab: Tab, live: str) -> None:
    page = tab.page
    response = page.goto(live + "/")
    assert response is not None
    directives = csp_directives(response.headers["content-security-policy"])
    assert directives["script-src"] == ["'self'"] and directives["style-src"] == ["'self'"]
    expect(page.locator("h1")).to_have_text("富岡甘楽定住自立圏 連携事業のご案内")
    open_widget(page)
    ask(page, FEVER)
    with page.expect_response(lambda r: r.url.endswith("/v1/feedback")):
        last_answer(page).get_by_role("button", name="役に立った").click()
    widget(page).get_by_role("button", name="English").click()
    ask(page, "Who can use it?")
    # The widget is styled (its constructed stylesheet was not blocked) ...
    panel = computed(page, ".panel", ["position", "border-top-left-radius"], shadow=True)
    assert panel == {"position": "fixed", "border-top-left-radius": "12px"}
    assert tab.violations() == [], tab.violations()
    # ... and the policy is really enforced: inline script injected into the page does not run.
    page.evaluate(
        """() => { const s = document.createElement('script');
                   try { s.text = 'window.__inline = 1'; } catch (e) {}
                   document.body.append(s); }"""
    )
    assert page.evaluate("typeof window.__inline") == "undefined"
    assert tab.violations() != [], "the recorder saw no violation: the CSP check above would prove nothing"


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_axe_finds_no_serious_or_critical_violations(browser: Browser, live: str, axe_source, viewport) -> None:  # type: ignore[no-untyped-def]
    opened = new_tab(browser, viewport, init_scripts=(axe_source,))
    page = opened.page
    page.goto(live + "/")
    assert page.evaluate("typeof axe.run") == "function"
    open_widget(page)
    ask(page, FEVER)  # an answer with a card, follow-up buttons and feedback buttons
    found = serious_violations(page)
    assert found == [], json.dumps(found, ensure_ascii=False, indent=1)
    widget(page).get_by_role("button", name="English").click()
    found = serious_violations(page)
    assert found == [], json.dumps(found, ensure_ascii=False, indent=1)
    assert opened.errors == []
    opened.page.context.close()


def show_card(page: Page) -> None:
    """Scroll the conversation so the screenshot shows the question, the card and the buttons."""
    page.evaluate(
        """() => { const root = document.querySelector('tk-assistant').shadowRoot;
                   const log = root.querySelector('.log'), card = root.querySelector('.card');
                   log.scrollTop = card.offsetTop - log.clientHeight * 0.35; }"""
    )


@pytest.mark.parametrize(("viewport", "name"), [(DESKTOP, "widget-desktop"), (PHONE, "widget-mobile")])
def test_screenshots_at_desktop_and_phone_width(browser: Browser, live: str, viewport, name: str) -> None:  # type: ignore[no-untyped-def]
    """Saved to .cache/screenshots/ (`make screenshots` copies them to docs/img/ for the README)."""
    opened = new_tab(browser, viewport)
    page = opened.page
    page.goto(live + "/")
    open_widget(page)
    ask(page, FEVER)
    show_card(page)
    panel = widget(page).locator(".panel").bounding_box()
    assert panel is not None
    assert panel["x"] >= 0 and panel["x"] + panel["width"] <= viewport["width"], panel
    assert panel["y"] >= 0 and panel["y"] + panel["height"] <= viewport["height"], panel
    for part in ["#tk-input", ".send", ".card-name", ".badge"]:
        box = widget(page).locator(part).first.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], (part, box)
    overflow = page.evaluate(
        "() => { const p = document.querySelector('tk-assistant').shadowRoot.querySelector('.panel');"
        " return [p.scrollWidth - p.clientWidth, document.documentElement.scrollWidth - innerWidth]; }"
    )
    assert overflow == [0, 0], f"horizontal overflow at {viewport['width']} px: {overflow}"
    if viewport["width"] <= 480:  # the panel fills a phone screen; the launcher waits behind it
        assert panel["width"] == viewport["width"]
        expect(widget(page).locator(".launcher")).to_be_hidden()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    assert path.stat().st_size > 20_000
    assert opened.errors == []
    opened.page.context.close()
