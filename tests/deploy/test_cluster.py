"""The cluster test (`make cluster-test`): PostgreSQL, two replicas and nginx on loopback, under steady load.

Every part is real: PostgreSQL started by ``tests/postgres.py`` (initdb/pg_ctl as an unprivileged
user), two ``assistant serve`` processes (one worker each) sharing that database and one index
folder, and Debian's nginx running ``deploy/nginx.conf`` as rendered by ``deploy/render_nginx.py``.
While client threads ask through nginx and record every status, the tests check in order:

1. a conversation whose turns alternate between the replicas resolves its follow-up every time;
2. ``assistant publish`` of a changed corpus reaches both replicas within 10 s, no request failing
   (then ``POST /admin/publish`` through nginx answers that it is already live);
3. a publish whose corpus fails the gate changes nothing, and the CLI says what failed; while it runs,
   ``POST /admin/publish`` through nginx gets 409 naming it (one lock for the CLI and every replica);
4. a LINE event delivered to one replica and redelivered to the other (and through nginx) is answered
   once: the replicas deduplicate on the shared PostgreSQL;
5. SIGTERM on one replica loses no request (those in flight finish), and nginx moves to the other.

The tests share one cluster (module scope) and run in this order; the last one stops a replica.
"""

from __future__ import annotations

import calendar
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from assistant.config import ROOT, Settings
from assistant.corpus import load_corpus
from assistant.errors import IndexError_
from assistant.model.backends import make_embedder
from assistant.search.index import fresh_version
from assistant.search.versions import activate, current_name, read_history, versions
from tests.api.line_fixtures import SECRET, TOKEN, LineStandIn, body_of, line_stand_in, sign, text_event
from tests.api.store_fixtures import ADMIN_KEY, admin
from tests.deploy.test_replica import start_nginx
from tests.gate import edit_project, shift_examples, small_gate
from tests.postgres import PostgresServer
from tests.servers import ServerProcess

pytestmark = pytest.mark.slow

POLL_SECONDS = 1.0
SWITCH_WITHIN = 10.0
NEW_CONTACT = "富岡総合病院 病児保育室 (cluster test)"
# Asked in turn by the background load: the first cites sick-child-care, whose contact the publish changes.
LOAD_QUESTIONS = (
    "病児保育はどこで受けられますか",
    "夜中に子どもが熱を出したら相談できる電話はある？",
    "where can I get sick-child care?",
    "手話を習いたい",
    "甘楽町で木のタンスを処分したい",
)


@dataclass
class Cluster:
    """The running pieces, and the folders the replicas share."""

    replicas: list[ServerProcess]
    nginx: str
    nginx_log: Path
    index_dir: Path
    corpus_dir: Path
    cli_env: dict[str, str]
    gate_args: list[str]
    database_url: str  # the PostgreSQL database both replicas use
    line: LineStandIn  # the loopback stand-in for LINE's Messaging API both replicas reply to


def _seed_version(request: pytest.FixtureRequest, settings: Settings) -> Path:
    """A version to start from: the checkout's, when ``make index`` left a fresh one (``make cluster-test``
    depends on it, so a run on its own need not embed the whole corpus again), else the session's build."""
    try:
        path, _ = fresh_version(
            ROOT / "index",
            corpus_digest=load_corpus(settings.corpus_dir).digest,
            model=settings.model_spec,
            backend=make_embedder(settings).backend,
        )
        return path
    except IndexError_:
        built: Path = request.getfixturevalue("built_index")
        return built


@pytest.fixture(scope="module")
def cluster(settings, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:  # type: ignore[no-untyped-def]
    built_index = _seed_version(request, settings)
    root = tmp_path_factory.mktemp("cluster")
    index_dir = root / "index"  # the shared index: a copy of the session's version, made current
    index_dir.mkdir()
    shutil.copytree(built_index, index_dir / built_index.name)
    activate(index_dir, built_index.name, how="test seed")
    corpus_dir = root / "corpus"  # the working corpus staff edit
    shutil.copytree(settings.corpus_dir, corpus_dir)
    questions, gate = small_gate(root)

    with line_stand_in() as stand_in:  # LINE's API, for the replicas' replies
        postgres = PostgresServer()
        postgres.start()
        replicas: list[ServerProcess] = []
        nginx: subprocess.Popen[bytes] | None = None
        try:
            database_url = postgres.database()
            shared = {
                "ASSISTANT_INDEX_DIR": str(index_dir),
                "ASSISTANT_CORPUS_DIR": str(corpus_dir),
                "ASSISTANT_EMBEDDING_MODEL": settings.model_spec,
            }
            replica_env = {
                **shared,
                "ASSISTANT_DATABASE_URL": database_url,
                "ASSISTANT_INDEX_POLL_SECONDS": str(POLL_SECONDS),
                "ASSISTANT_DATA_DIR": str(root / "data"),  # unused with PostgreSQL; never the checkout's data/
                "ASSISTANT_ADMIN_TOKEN": ADMIN_KEY,
                "ASSISTANT_LINE_CHANNEL_SECRET": SECRET,
                "ASSISTANT_LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
                "ASSISTANT_LINE_API_BASE_URL": stand_in.base,
            }
            for name in ("replica1", "replica2"):
                replicas.append(
                    ServerProcess(
                        replica_env,
                        log=root / f"{name}.log",
                        args=("--workers", "1", "--graceful-timeout", "60"),
                    )
                )
            for replica in replicas:
                ready = replica.wait_ready()
                assert ready["index"] == built_index.name
                assert ready["store"] == {  # both on the one PostgreSQL
                    "status": "ok",
                    "database": "postgresql",
                    "problems": {},
                    "waiting": 0,
                    "dropped": 0,
                    "recording": True,
                }, ready
            nginx, url = start_nginx(root / "nginx", [f"127.0.0.1:{r.port}" for r in replicas])
            yield Cluster(
                replicas=replicas,
                nginx=url,
                nginx_log=root / "nginx" / "error.log",
                index_dir=index_dir,
                corpus_dir=corpus_dir,
                cli_env=shared,
                gate_args=["--questions", str(questions), "--gate", str(gate)],
                database_url=database_url,
                line=stand_in,
            )
        finally:
            if nginx is not None:
                nginx.terminate()
                nginx.wait(timeout=30)
            for replica in replicas:
                replica.stop()
            try:
                postgres.stop()
            finally:
                postgres.remove()


class Load:
    """Client threads asking through nginx without pause (under its per-client rate limit); every result kept.

    A failure is anything but a 200 with an answer: an error status, a refused or dropped connection.
    """

    def __init__(self, url: str, threads: int = 2, pause: float = 0.6) -> None:
        self.url = url
        self.pause = pause
        self.statuses: list[int] = []
        self.failures: list[str] = []
        self.contacts: list[str] = []  # sick-child-care's contact, in the order answers came
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(threads)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=120)

    @property
    def ok(self) -> int:
        with self._lock:
            return self.statuses.count(200)

    def _run(self, n: int) -> None:
        i = n
        with httpx.Client(base_url=self.url, timeout=60) as client:
            while not self._stop.is_set():
                question = LOAD_QUESTIONS[i % len(LOAD_QUESTIONS)]
                i += 1
                try:
                    response = client.post("/v1/ask", json={"question": question})
                    body = response.json()
                    with self._lock:
                        self.statuses.append(response.status_code)
                        if response.status_code != 200 or not body.get("answer"):
                            self.failures.append(f"{question}: {response.status_code} {response.text[:200]}")
                        elif body["citations"] and body["citations"][0]["project_id"] == "sick-child-care":
                            self.contacts.append(body["citations"][0]["contact"])
                except (httpx.HTTPError, ValueError) as exc:
                    with self._lock:
                        self.statuses.append(0)
                        self.failures.append(f"{question}: {exc!r}")
                self._stop.wait(self.pause)


def _ask(url: str, question: str, session_id: str | None = None) -> dict[str, object]:
    response = httpx.post(f"{url}/v1/ask", json={"question": question, "session_id": session_id}, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _cited(answer: dict[str, object]) -> str | None:
    citations = answer["citations"]
    assert isinstance(citations, list)
    return str(citations[0]["project_id"]) if citations else None


FIRST_TURN = "病児保育について教えて"
FOLLOW_UP = "それはどこで受けられますか"


def test_a_follow_up_on_the_other_replica_resolves_every_time(cluster: Cluster) -> None:
    """Turn one on one replica, turn two on the other (ports addressed directly), both ways; then through nginx."""
    one, two = cluster.replicas
    fresh = _ask(cluster.nginx, FOLLOW_UP, f"alone-{uuid.uuid4()}")
    assert _cited(fresh) != "sick-child-care"  # without its first turn the follow-up does not find the project
    with Load(cluster.nginx) as load:
        for n in range(6):
            first, second = (one, two) if n % 2 == 0 else (two, one)
            session = f"cluster-{uuid.uuid4()}"
            assert _cited(_ask(first.url, FIRST_TURN, session)) == "sick-child-care"
            assert _cited(_ask(second.url, FOLLOW_UP, session)) == "sick-child-care", (first.url, second.url)
        for _ in range(3):
            session = f"cluster-nginx-{uuid.uuid4()}"
            assert _cited(_ask(cluster.nginx, FIRST_TURN, session)) == "sick-child-care"
            assert _cited(_ask(cluster.nginx, FOLLOW_UP, session)) == "sick-child-care"
    assert load.failures == [] and load.ok > 0


def _wait_for_version(replica: ServerProcess, version: str, timeout: float) -> float:
    """Wait until the replica serves ``version``; returns the wall-clock time it was first seen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if replica.readyz().get("index") == version:
            return time.time()
        time.sleep(0.1)
    raise AssertionError(f"{replica.url} still serves {replica.readyz()} after {timeout} s; wanted {version}")


def test_a_publish_reaches_both_replicas_within_10_s_with_no_failed_request(cluster: Cluster) -> None:
    before = current_name(cluster.index_dir)
    edit_project(cluster.corpus_dir, "sick-child-care", contact=NEW_CONTACT)
    with Load(cluster.nginx) as load:
        time.sleep(2)
        result = subprocess.run(
            [sys.executable, "-m", "assistant.cli", "publish", *cluster.gate_args],
            env={**os.environ, **cluster.cli_env},
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        after = current_name(cluster.index_dir)
        assert after != before and f"published: {after} is current (was {before})" in result.stdout
        flipped = read_history(cluster.index_dir)[-1]
        assert flipped.version == after
        # HISTORY's time is whole seconds, rounded down: the delay measured here is at most 1 s too long.
        flipped_at = calendar.timegm(time.strptime(flipped.at, "%Y-%m-%dT%H:%M:%SZ"))
        delays = [_wait_for_version(r, after, timeout=60) - flipped_at for r in cluster.replicas]
        answered_at_switch, cited_at_switch = load.ok, len(load.contacts)
        deadline = time.monotonic() + 60
        while len(load.contacts) < cited_at_switch + 2 and time.monotonic() < deadline:
            time.sleep(0.2)  # until two more answers cite sick-child-care, both started after the switch
        assert load.ok > answered_at_switch  # still answering after the switch
    print(f"publish: both replicas serve {after} {max(delays):.1f} s after CURRENT changed (poll {POLL_SECONDS} s)")
    assert max(delays) <= SWITCH_WITHIN, delays
    assert load.failures == [], load.failures
    assert load.contacts[0] == "" and load.contacts[-1] == NEW_CONTACT  # the old corpus, then the new one
    for replica in cluster.replicas:
        project = httpx.get(f"{replica.url}/v1/projects/sick-child-care", timeout=30).json()
        assert project["contact"] == NEW_CONTACT
    # The staff API, through nginx, on whichever replica: the same corpus is already live.
    again = httpx.post(f"{cluster.nginx}/admin/publish", headers=admin(), timeout=600)
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "unchanged" and again.json()["current"] == after


def test_a_publish_that_fails_the_gate_changes_nothing(cluster: Cluster) -> None:
    before = current_name(cluster.index_dir)
    folders = sorted(p.name for p in versions(cluster.index_dir))
    backup = cluster.corpus_dir.parent / "corpus-before-shift"
    shutil.copytree(cluster.corpus_dir, backup)
    shift_examples(cluster.corpus_dir)
    try:
        with Load(cluster.nginx) as load:
            cli = subprocess.Popen(
                [sys.executable, "-m", "assistant.cli", "publish", *cluster.gate_args],
                env={**os.environ, **cluster.cli_env},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            assert cli.stdout is not None
            seen = [cli.stdout.readline()]  # the CLI holds the index lock from here to its exit
            assert seen[0].startswith(("validating the corpus", "removed what an interrupted run left")), seen
            # Meanwhile staff press publish on the staff API, through nginx: refused, naming the CLI's run.
            busy = httpx.post(f"{cluster.nginx}/admin/publish", headers=admin(), timeout=120)
            out, err = cli.communicate(timeout=900)
            time.sleep(POLL_SECONDS * 3)  # time for a replica to notice, were there anything to notice
            served = [r.readyz()["index"] for r in cluster.replicas]
    finally:
        shutil.rmtree(cluster.corpus_dir)
        backup.rename(cluster.corpus_dir)
    assert cli.returncode == 1, "".join(seen) + out + err
    assert "gate: hit_at_1" in err and "is below the gate's minimum 0.8500" in err
    assert "failed the gate" in err and f"still serving {before}" in err
    assert busy.status_code == 409, busy.text
    refusal = busy.json()["error"]
    assert refusal["code"] == "publish_running"
    assert f"another publish is running on {cluster.index_dir} (publish, pid {cli.pid}," in refusal["message"]
    assert current_name(cluster.index_dir) == before and served == [before, before]
    assert sorted(p.name for p in versions(cluster.index_dir)) == folders
    assert load.failures == [] and load.ok > 0


LINE_EVENT_ID = "01JCLUSTERREDELIVERY0000AA"  # fixed, as LINE keeps an event's id across redeliveries
SICK_CHILD_CARE = "病児・病後児保育事業"  # sick-child-care's name in the corpus


def _deliver(url: str, sent: dict[str, Any]) -> None:
    """POST one LINE webhook body holding ``sent``, signed as LINE signs it; the webhook accepts it at once."""
    body = body_of(sent)
    response = httpx.post(
        f"{url}/line/webhook",
        content=body,
        headers={"X-Line-Signature": sign(body), "Content-Type": "application/json"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "accepted", "events": 1}


def test_a_line_event_redelivered_to_the_other_replica_is_answered_once(cluster: Cluster) -> None:
    """One event to replica 1, its redelivery to replica 2 and through nginx: one reply, one row in PostgreSQL.

    Runs before the SIGTERM test, which stops replica 1.
    """
    one, two = cluster.replicas
    sent = text_event(FIRST_TURN, event_id=LINE_EVENT_ID)
    again = {**sent, "deliveryContext": {"isRedelivery": True}}  # a new body, so signed again
    logs_before = [r.output().count(f"LINE event {LINE_EVENT_ID} redelivered") for r in cluster.replicas]
    with Load(cluster.nginx) as load:
        # Back to back: replica 2 may pick its copy up while replica 1 is still answering the first.
        _deliver(one.url, sent)
        _deliver(two.url, again)
        _deliver(cluster.nginx, again)  # LINE's retry reaches whichever replica nginx picks
        replies = cluster.line.wait_for(sent["replyToken"], timeout=120)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # until both redeliveries were seen and skipped
            skipped = [r.output().count(f"LINE event {LINE_EVENT_ID} redelivered") for r in cluster.replicas]
            if sum(skipped) - sum(logs_before) >= 2:
                break
            time.sleep(0.2)
        time.sleep(2.0)  # a second reply would have reached the stand-in by now
        replies = cluster.line.replies(sent["replyToken"])
    assert sum(skipped) - sum(logs_before) == 2, [r.output()[-3000:] for r in cluster.replicas]
    assert len(replies) == 1 and len(cluster.line.replies()) == 1, [r.body for r in cluster.line.replies()]
    reply = replies[0]
    assert reply.path == "/v2/bot/message/reply" and reply.headers["Authorization"] == f"Bearer {TOKEN}"
    answer, card = reply.body["messages"][:2]
    assert answer["type"] == "text" and SICK_CHILD_CARE in answer["text"]
    assert card["type"] == "flex" and SICK_CHILD_CARE in card["altText"]
    assert "project=sick-child-care" in json.dumps(reply.body)  # the card's town buttons name the project
    engine = create_engine(cluster.database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT count(*) FROM line_events WHERE event_id = :id"), {"id": LINE_EVENT_ID}
            ).scalar_one()
    finally:
        engine.dispose()
    assert rows == 1
    assert load.failures == [] and load.ok > 0


SLOW = 14  # at once through nginx, with the load: within its burst of 20


def _long_question(n: int) -> str:
    """A distinct ~450-character question (no query-cache hits): slow enough to be in flight at SIGTERM."""
    base = f"質問{n}: 子どもが夜中に熱を出してしまい、明日は仕事を休めないので保育園にも預けられず困っています。"
    return (base * 20)[:450]


def test_sigterm_on_one_replica_loses_no_request_and_nginx_moves_to_the_other(cluster: Cluster) -> None:
    """Runs last: it stops replica 1."""
    stopping, staying = cluster.replicas
    slow: list[int] = []

    def ask_slow(n: int) -> None:
        try:
            response = httpx.post(f"{cluster.nginx}/v1/ask", json={"question": _long_question(n)}, timeout=120)
            slow.append(response.status_code)
        except httpx.HTTPError as exc:
            slow.append(0)
            print(f"slow question {n}: {exc!r}")

    with Load(cluster.nginx) as load:
        time.sleep(1)
        threads = [threading.Thread(target=ask_slow, args=(n,)) for n in range(SLOW)]
        for thread in threads:
            thread.start()
        # Once the first is answered the replicas are busy with the rest (both replicas get about half).
        deadline = time.monotonic() + 30
        while not slow and time.monotonic() < deadline:
            time.sleep(0.01)
        pending = SLOW - len(slow)
        stopping.signal(signal.SIGTERM)
        assert stopping.process.wait(timeout=120) == 0, stopping.output()
        for thread in threads:
            thread.join(timeout=180)
        stopped_at = load.ok
        time.sleep(3)
        after_stop = load.ok - stopped_at
    print(f"SIGTERM with {pending} slow questions unanswered")
    assert slow == [200] * SLOW
    assert load.failures == [], load.failures
    # Requests were in flight on the stopping replica at SIGTERM, and it finished them …
    after_sigterm = stopping.output().split("SIGTERM: draining", 1)[1]
    assert '"POST /v1/ask HTTP/1.1" 200' in after_sigterm, "nothing was in flight at SIGTERM: the test proved nothing"
    # … then nginx found its port closed and went on to the other replica, with no error for the client.
    refused = [
        line
        for line in cluster.nginx_log.read_text().splitlines()
        if "connect() failed" in line and f"127.0.0.1:{stopping.port}" in line
    ]
    assert refused, cluster.nginx_log.read_text()
    assert after_stop > 0  # nginx kept answering with one replica gone
    for n in range(5):  # and every request now goes to the one left
        assert _cited(_ask(cluster.nginx, LOAD_QUESTIONS[n])) is not None
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{stopping.url}/healthz", timeout=5)
    assert staying.readyz()["status"] == "ready"
