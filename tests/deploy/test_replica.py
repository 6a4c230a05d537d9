"""One replica behind Debian's nginx with deploy/nginx.conf: config check, failover, rate limit; then SIGTERM draining.

The server is a real `assistant serve` process, nginx the real binary, both on loopback ports.
(The full cluster test, with PostgreSQL and two replicas under load, comes with the store.)
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from assistant.config import ROOT
from assistant.evaluation.bench import free_port
from tests.servers import ServerProcess

pytestmark = pytest.mark.slow

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
RENDER = ROOT / "deploy" / "render_nginx.py"


def render(runtime: Path, upstreams: list[str], listen: str) -> Path:
    """deploy/nginx.conf rendered by deploy/render_nginx.py for these loopback addresses."""
    runtime.mkdir(parents=True, exist_ok=True)
    text = subprocess.run(
        [sys.executable, str(RENDER), *(f"--upstream={u}" for u in upstreams), "--listen", listen,
         "--runtime-dir", str(runtime)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    conf = runtime / "nginx.conf"
    conf.write_text(text, encoding="utf-8")
    return conf


def nginx_test(conf: Path) -> subprocess.CompletedProcess[str]:
    runtime = conf.parent
    return subprocess.run(
        [NGINX, "-t", "-c", str(conf), "-p", str(runtime), "-e", str(runtime / "error.log")],
        capture_output=True,
        text=True,
        check=False,
    )


def test_nginx_conf_passes_nginx_t_with_any_number_of_replicas(tmp_path: Path) -> None:
    for n in (1, 2, 5):
        upstreams = [f"127.0.0.1:{free_port()}" for _ in range(n)]
        conf = render(tmp_path / f"n{n}", upstreams, f"127.0.0.1:{free_port()}")
        result = nginx_test(conf)
        assert result.returncode == 0, result.stderr
        assert "test is successful" in result.stderr
        text = conf.read_text()
        assert all(f"server {u} max_fails=2 fail_timeout=10s;" in text for u in upstreams)
    broken = conf.read_text().replace("limit_req_status 429;", "limit_req_status;")
    conf.write_text(broken)
    assert nginx_test(conf).returncode != 0  # the check bites


@pytest.fixture(scope="module")
def server(settings, built_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:  # type: ignore[no-untyped-def]
    env = {"ASSISTANT_INDEX_DIR": str(settings.index_dir), "ASSISTANT_EMBEDDING_MODEL": settings.model_spec}
    log = tmp_path_factory.mktemp("replica") / "server.log"
    process = ServerProcess(env, log=log, args=("--drain-seconds", "2", "--graceful-timeout", "60"))
    process.wait_ready()
    yield process
    process.stop()


def start_nginx(runtime: Path, upstreams: list[str]) -> tuple[subprocess.Popen[bytes], str]:
    """Debian's nginx on the rendered deploy/nginx.conf in ``runtime``, once it answers; and its URL."""
    port = free_port()
    conf = render(runtime, upstreams, f"127.0.0.1:{port}")
    process = subprocess.Popen(
        [NGINX, "-c", str(conf), "-p", str(runtime), "-e", str(runtime / "error.log"), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline and process.poll() is None, (runtime / "error.log").read_text()
        time.sleep(0.1)


@pytest.fixture
def nginx(server: ServerProcess, tmp_path: Path) -> Iterator[str]:
    """nginx in front of the replica and of a dead port (a replica that is down)."""
    process, url = start_nginx(tmp_path / "nginx", [f"127.0.0.1:{free_port()}", f"127.0.0.1:{server.port}"])
    yield url
    process.terminate()
    process.wait(timeout=30)


def test_nginx_retries_the_next_replica_and_rate_limits_per_client(nginx: str, tmp_path: Path) -> None:
    with httpx.Client(base_url=nginx, timeout=60) as client:
        for question in ("子どもが熱を出して保育園に行けない", "where can I get sick-child care?", "手話を習いたい"):
            for _ in range(2):
                response = client.post("/v1/ask", json={"question": question})
                assert response.status_code == 200, response.text
                time.sleep(0.25)  # stay under the rate limit here
    log = (tmp_path / "nginx" / "error.log").read_text()
    assert "connect() failed" in log  # the dead replica was tried, and the request went on to the live one

    def get(_: int) -> httpx.Response:
        return httpx.get(f"{nginx}/v1/projects", timeout=60)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(get, range(80)))
    elapsed = time.monotonic() - started
    codes = [r.status_code for r in responses]
    # limit_req: a burst of 20 at once, then 5 a second; everything beyond gets 429 (however slow the machine).
    assert set(codes) <= {200, 429}, codes
    assert 15 <= codes.count(200) <= 20 + 5 * elapsed + 1, (codes.count(200), elapsed)
    assert codes.count(429) >= 1
    limited = next(r for r in responses if r.status_code == 429)
    assert limited.json()["error"]["code"] == "rate_limited" and limited.headers["retry-after"] == "1"


def _long_question(n: int) -> str:
    """A distinct ~450-character question (no query-cache hits): slow enough to be in flight."""
    base = f"質問{n}: 子どもが夜中に熱を出してしまい、明日は仕事を休めないので保育園にも預けられず困っています。"
    return (base * 20)[:450]


def test_sigterm_drains_requests_in_flight_and_reports_not_ready(server: ServerProcess) -> None:
    """Runs last in this module: it stops the shared server."""
    results: list[tuple[int, float]] = []
    lock = threading.Lock()

    def ask(n: int) -> None:
        with httpx.Client(base_url=server.url, timeout=120) as client:
            response = client.post("/v1/ask", json={"question": _long_question(n)})
        with lock:
            results.append((response.status_code, time.monotonic()))

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    terminated_at = time.monotonic()
    server.signal(signal.SIGTERM)
    time.sleep(0.2)
    ready = httpx.get(f"{server.url}/readyz", timeout=30)
    assert ready.status_code == 503 and ready.json()["status"] == "draining"
    for thread in threads:
        thread.join(timeout=180)
    assert [code for code, _ in results] == [200] * 12
    finished_after = sum(1 for _, at in results if at > terminated_at)
    assert finished_after >= 1, "no request was in flight at SIGTERM: the test proved nothing"
    assert server.process.wait(timeout=120) == 0
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/healthz", timeout=5)
    print(json.dumps({"in_flight_at_sigterm_finished_after": finished_after, "requests": len(results)}))
