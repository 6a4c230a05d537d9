"""Real server processes for the tests: ``assistant serve`` (and nginx) on loopback ports."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from assistant.evaluation.bench import free_port


class ServerProcess:
    """``assistant serve`` in a child process, its output in a log file.

    Example::

        server = ServerProcess(env, log=tmp_path / "server.log")
        server.wait_ready()
        httpx.get(f"{server.url}/readyz")
        server.stop()
    """

    def __init__(self, env: dict[str, str], *, log: Path, args: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._log_handle = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "assistant.cli", "serve", "--port", str(self.port), *args],
            env={**os.environ, **env},
            stdout=self._log_handle,
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        """Everything the server printed so far."""
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_ready(self, timeout: float = 600) -> dict[str, object]:
        """Wait for ``/readyz`` to answer 200; returns its body."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited with {self.process.returncode}:\n{self.output()}")
            try:
                response = httpx.get(f"{self.url}/readyz", timeout=5)
                if response.status_code == 200:
                    return response.json()  # type: ignore[no-any-return]
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"the server was not ready within {timeout} s:\n{self.output()}")

    def readyz(self) -> dict[str, object]:
        return httpx.get(f"{self.url}/readyz", timeout=10).json()  # type: ignore[no-any-return]

    def signal(self, sig: signal.Signals) -> None:
        self.process.send_signal(sig)

    def stop(self) -> int:
        """SIGTERM, wait; SIGKILL if it hangs. Returns the exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log_handle.close()
        return self.process.returncode
