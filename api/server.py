"""Run the app under uvicorn, draining in-flight requests on SIGTERM.

On ``SIGTERM`` (what Docker, Kubernetes and systemd send), a replica:

1. reports not-ready at once: ``/readyz`` answers 503 ``{"status": "draining"}``, so a load
   balancer that polls it stops sending new requests;
2. keeps serving for ``drain_seconds`` (0 by default: nginx's passive checks and Kubernetes'
   preStop hook do not need it), then stops accepting connections;
3. lets the requests in flight finish, for at most ``graceful_timeout`` seconds (uvicorn's
   graceful shutdown), and exits 0.

Example::

    serve(settings, host="0.0.0.0", port=8000, graceful_timeout=25, drain_seconds=0)
"""

from __future__ import annotations

import copy
import logging
import signal
import threading
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.config import LOGGING_CONFIG

from api.app import create_app
from assistant.config import Settings

log = logging.getLogger("assistant.api.server")

PROTOCOLS: dict[str, str] = {"http": "httptools", "loop": "uvloop"}
"""uvicorn's C HTTP parser and libuv event loop (what ``uvicorn[standard]`` brings), named so that a
missing one fails at start instead of falling back to pure-Python h11: about 0.5 ms less per request
on loopback (``scripts/http_overhead.py``). The tests serve the app the same way."""


def log_config() -> dict[str, Any]:
    """uvicorn's logging, with the assistant's own loggers printed the same way."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["assistant"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


class DrainingServer(uvicorn.Server):
    """uvicorn's server, telling the app it is draining the moment SIGTERM arrives."""

    def __init__(self, config: uvicorn.Config, draining: threading.Event, drain_seconds: float) -> None:
        super().__init__(config)
        self.draining = draining
        self.drain_seconds = drain_seconds

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """SIGTERM: mark draining, stop after ``drain_seconds``; anything else: uvicorn's own handling."""
        if sig != signal.SIGTERM or self.should_exit:
            super().handle_exit(sig, frame)
            return
        if self.draining.is_set():
            return
        self.draining.set()
        log.info("SIGTERM: draining (readyz now 503); stopping in %.1f s", self.drain_seconds)
        if self.drain_seconds <= 0:
            self.should_exit = True
            return
        timer = threading.Timer(self.drain_seconds, self._stop)
        timer.daemon = True
        timer.start()

    def _stop(self) -> None:
        self.should_exit = True


def serve(
    settings: Settings,
    *,
    host: str,
    port: int,
    workers: int = 1,
    graceful_timeout: float = 30,
    drain_seconds: float = 0,
) -> None:
    """Serve the API until SIGTERM or SIGINT, then drain (see the module docstring).

    With ``workers`` above 1, uvicorn's supervisor runs the processes: each drains its requests
    on SIGTERM, but ``/readyz`` does not report draining and ``drain_seconds`` is ignored.
    """
    # A SIGHUP (sent after a publish) while the model loads must not kill the process; the
    # index watcher installs its own handler once the app is up, and polls anyway.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    common: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_config": log_config(),
        "log_level": "info",
        "lifespan": "on",  # a failed startup stops the process instead of serving 503s forever
        "timeout_graceful_shutdown": graceful_timeout,
        **PROTOCOLS,
    }
    if workers > 1:
        uvicorn.run("api.app:create_app", factory=True, workers=workers, **common)
        return
    draining = threading.Event()
    config = uvicorn.Config(create_app(settings, draining=draining), **common)
    DrainingServer(config, draining, drain_seconds).run()
