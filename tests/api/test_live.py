"""A real server process switches to a newly published index version live, and ignores a damaged one."""

from __future__ import annotations

import shutil
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest
import yaml

from assistant.corpus import load_corpus
from assistant.search.index import build_index
from assistant.search.versions import current_name, point_current
from tests.servers import ServerProcess

pytestmark = pytest.mark.slow

POLL_SECONDS = 1.0
QUESTION = "健康ダイヤル24の電話番号を教えて"
NEW_CONTACT = "富岡市 健康推進課 0274-62-1511 (live test)"


class AskingClient:
    """A client thread asking continuously; every answer must be a 200 with the right project."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.ok = 0
        self.failures: list[str] = []
        self.contacts: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> AskingClient:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=120)

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=60) as client:
            while not self._stop.is_set():
                try:
                    response = client.post("/v1/ask", json={"question": QUESTION})
                    body = response.json()
                    if response.status_code != 200 or body["citations"][0]["project_id"] != "health-dial-24":
                        self.failures.append(f"{response.status_code}: {response.text[:200]}")
                    else:
                        self.ok += 1
                        self.contacts.add(body["citations"][0]["contact"])
                except (httpx.HTTPError, ValueError, KeyError, IndexError) as exc:
                    self.failures.append(repr(exc))


def _wait_for_version(server: ServerProcess, version: str, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if server.readyz().get("index") == version:
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"still serving {server.readyz()} after {timeout} s; wanted {version}:\n{server.output()}")


@pytest.fixture
def env(settings, seeded_index: Path, corpus_copy: Path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        "ASSISTANT_INDEX_DIR": str(seeded_index),
        "ASSISTANT_CORPUS_DIR": str(corpus_copy),
        "ASSISTANT_EMBEDDING_MODEL": settings.model_spec,
        "ASSISTANT_INDEX_POLL_SECONDS": str(POLL_SECONDS),
    }


def _edit_contact(corpus: Path) -> None:
    path = corpus / "projects" / "health-dial-24.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["contact"] = NEW_CONTACT
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_a_server_switches_to_a_new_version_with_no_failed_request_and_ignores_a_damaged_one(
    env: dict[str, str], seeded_index: Path, corpus_copy: Path, embedder, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    first = current_name(seeded_index)
    assert first is not None
    _edit_contact(corpus_copy)  # staff edit the working corpus: not published yet
    server = ServerProcess(env, log=tmp_path / "server.log")
    try:
        assert server.wait_ready()["index"] == first
        assert "has changes not yet published; serving the published version" in server.output()
        with AskingClient(server.url) as client:
            time.sleep(1)
            assert client.contacts == {""}  # the published version's corpus, not the edited one

            second = build_index(seeded_index, load_corpus(corpus_copy), embedder, show_progress=False).name
            took = _wait_for_version(server, second, timeout=POLL_SECONDS + 30)
            asked_at_switch = client.ok
            time.sleep(1.5)
            assert client.ok > asked_at_switch
        assert client.failures == []
        assert client.contacts == {"", NEW_CONTACT}
        print(f"switched {took:.2f} s after CURRENT changed (poll {POLL_SECONDS} s); {client.ok} answers, 0 failed")

        # A damaged version: complete-looking folder, truncated vectors. Logged once, ignored.
        damaged = "29990101T000000Z-damaged-version"
        shutil.copytree(seeded_index / second, seeded_index / damaged)
        (seeded_index / damaged / "vectors.faiss").write_bytes(b"\0" * 64)
        with AskingClient(server.url) as client:
            point_current(seeded_index, damaged)
            time.sleep(POLL_SECONDS * 5)
            assert server.readyz()["index"] == second
        assert client.failures == [] and client.ok > 0
        assert server.output().count(f"index version {damaged} cannot be served, still serving {second}") == 1

        # The watcher survives: pointing CURRENT at a good version switches again.
        point_current(seeded_index, first)
        _wait_for_version(server, first, timeout=POLL_SECONDS + 30)
    finally:
        server.stop()


def test_sighup_makes_a_server_look_at_once(
    env: dict[str, str], seeded_index: Path, corpus_copy: Path, embedder, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    server = ServerProcess({**env, "ASSISTANT_INDEX_POLL_SECONDS": "0"}, log=tmp_path / "server.log")
    try:
        first = server.wait_ready()["index"]
        _edit_contact(corpus_copy)
        second = build_index(seeded_index, load_corpus(corpus_copy), embedder, show_progress=False).name
        time.sleep(2)
        assert server.readyz()["index"] == first  # polling is off: nothing happens by itself
        server.signal(signal.SIGHUP)
        _wait_for_version(server, second, timeout=30)
        assert server.process.poll() is None  # SIGHUP did not stop it
    finally:
        server.stop()
