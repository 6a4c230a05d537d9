"""``POST /admin/publish`` on the real app: the admin key, a corpus that fails validation or the gate, a publish.

The gate is the real one over every fourth held-out Japanese, English and out-of-scope question
(``ASSISTANT_PUBLISH_QUESTIONS``/``ASSISTANT_PUBLISH_GATE``), so each publish takes seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant.search.index import load_index
from assistant.search.versions import current_name, versions, writer_lock
from tests.api.store_fixtures import admin, store_client
from tests.gate import edit_project, shift_examples, small_gate

pytestmark = pytest.mark.slow


@pytest.fixture
def publisher(settings, assistant, seeded_index: Path, corpus_copy: Path, tmp_path: Path) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """The app over a temp index (a copy of the session's version) and a temp corpus, with the small gate."""
    questions, gate = small_gate(tmp_path)
    overrides = {
        "index_dir": seeded_index,
        "corpus_dir": corpus_copy,
        "publish_questions": questions,
        "publish_gate": gate,
        "index_poll_seconds": 0.0,
    }
    with store_client(settings, assistant, tmp_path / "data", **overrides) as client:
        yield client


def test_publish_needs_the_admin_key(
    settings, assistant, publisher: TestClient, seeded_index: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    before = current_name(seeded_index)
    assert publisher.post("/admin/publish").status_code == 401
    wrong = publisher.post("/admin/publish", headers=admin("wrong-key"))
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
    assert wrong.json()["error"]["code"] == "unauthorized"
    with store_client(settings, assistant, tmp_path / "off", index_dir=seeded_index, admin_token=None) as off:
        for headers in ({}, admin()):
            response = off.post("/admin/publish", headers=headers)
            assert response.status_code == 403 and "ASSISTANT_ADMIN_TOKEN" in response.json()["error"]["message"]
    assert current_name(seeded_index) == before


def test_an_invalid_corpus_gets_422_naming_every_problem(
    publisher: TestClient, seeded_index: Path, corpus_copy: Path
) -> None:
    before = current_name(seeded_index)
    edit_project(corpus_copy, "shared-taxi", status="someday")
    edit_project(corpus_copy, "bulky-waste", examples=["粗大ごみ"])
    response = publisher.post("/admin/publish", headers=admin())
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "corpus_invalid" and error["step"] == "validate"
    assert "CURRENT unchanged" in error["message"]
    assert any("shared-taxi.yaml: field 'status': unknown status 'someday'" in p for p in error["problems"])
    assert any("bulky-waste.yaml: field 'examples'" in p for p in error["problems"])
    assert current_name(seeded_index) == before and [p.name for p in versions(seeded_index)] == [before]


def test_a_corpus_that_fails_the_gate_gets_422_with_the_broken_bounds(
    publisher: TestClient, seeded_index: Path, corpus_copy: Path
) -> None:
    """Each project gets the next one's aliases and examples: valid YAML, wrong answers."""
    before = current_name(seeded_index)
    shift_examples(corpus_copy)
    response = publisher.post("/admin/publish", headers=admin())
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "gate_failed" and error["step"] == "gate"
    assert f"still serving {before}" in error["message"]
    assert any(p.startswith("hit_at_1") and "below the gate's minimum 0.8500" in p for p in error["problems"])
    assert error["metrics"]["hit_at_1"] < 0.85 and error["failed_questions"]
    assert current_name(seeded_index) == before and [p.name for p in versions(seeded_index)] == [before]


def test_a_publish_goes_live_then_nothing_to_publish_and_a_held_lock_is_409(
    settings, publisher: TestClient, seeded_index: Path, corpus_copy: Path
) -> None:  # type: ignore[no-untyped-def]
    before = current_name(seeded_index)
    edit_project(corpus_copy, "health-dial-24", contact="富岡市 健康推進課 0274-00-0000")

    with writer_lock(seeded_index, "publish"):  # as if `assistant publish` were running
        busy = publisher.post("/admin/publish", headers=admin())
    assert busy.status_code == 409, busy.text
    assert busy.json()["error"]["code"] == "publish_running"
    assert "another publish is running" in busy.json()["error"]["message"]
    assert current_name(seeded_index) == before

    response = publisher.post("/admin/publish", headers=admin(), params={"force": "false"})
    assert response.status_code == 200, response.text
    body = response.json()
    after = current_name(seeded_index)
    assert body["status"] == "published" and body["published"] == after != before and body["previous"] == before
    assert body["metrics"]["hit_at_1"] >= 0.85
    served = load_index(seeded_index, model=settings.model_spec)
    assert served.corpus.projects["health-dial-24"].contact == "富岡市 健康推進課 0274-00-0000"

    again = publisher.post("/admin/publish", headers=admin())
    assert again.status_code == 200
    assert again.json()["status"] == "unchanged" and again.json()["current"] == after
    assert "nothing to publish" in again.json()["message"]
