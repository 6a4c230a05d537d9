"""What HTTP costs around a kept answer, by server stack and by client.

The figures behind ``api/server.py``'s ``PROTOCOLS`` and ``assistant bench``'s load generator::

    .venv/bin/python scripts/http_overhead.py [rounds, default 3]

The app (``api.app:create_app``, the configured index) is served by uvicorn on loopback three ways,
one after another in each round so the machine's noise falls on all alike:

- ``httptools+uvloop``: what ``assistant serve`` uses (``PROTOCOLS``);
- ``h11+asyncio``: uvicorn's pure-Python protocol and loop (what it falls back to without them);
- ``httptools+uvloop, no access log``: the cost of uvicorn's access line (masked, see
  ``assistant/store/logs.py``), for reference.

Against each, one held-out question is asked 300 times in a row over one keep-alive connection
(a kept answer: no model) by three clients: the standard library's ``http.client`` (the least a
client can add), aiohttp (``assistant bench``'s load generator) and httpx's ``AsyncClient``
(the bench's client before). Printed: the p50 per request in ms, per round, then the median of
the rounds.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import statistics
import sys
import time
from collections.abc import Callable

import aiohttp
import httpx

from api.server import PROTOCOLS
from assistant.evaluation.bench import free_port, start_server

QUESTION = "子どもが熱を出して保育園に行けない"
REQUESTS = 300
BODY = json.dumps({"question": QUESTION}).encode()
HEADERS = {"Content-Type": "application/json"}

STACKS: dict[str, list[str]] = {
    "httptools+uvloop": [f"--{name}={value}" for name, value in PROTOCOLS.items()],
    "h11+asyncio": ["--http=h11", "--loop=asyncio"],
    "httptools+uvloop, no access log": [*(f"--{name}={value}" for name, value in PROTOCOLS.items()), "--no-access-log"],
}


def stdlib(port: int) -> list[float]:
    connection = http.client.HTTPConnection("127.0.0.1", port)
    times = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        connection.request("POST", "/v1/ask", BODY, HEADERS)
        response = connection.getresponse()
        response.read()
        times.append((time.perf_counter() - started) * 1000)
    connection.close()
    return times


async def with_aiohttp(port: int) -> list[float]:
    times = []
    async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as client:
        for _ in range(REQUESTS):
            started = time.perf_counter()
            async with client.post("/v1/ask", json={"question": QUESTION}) as response:
                await response.read()
            times.append((time.perf_counter() - started) * 1000)
    return times


async def with_httpx(port: int) -> list[float]:
    times = []
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        for _ in range(REQUESTS):
            started = time.perf_counter()
            await client.post("/v1/ask", json={"question": QUESTION})
            times.append((time.perf_counter() - started) * 1000)
    return times


CLIENTS: dict[str, Callable[[int], list[float]]] = {
    "http.client": stdlib,
    "aiohttp": lambda port: asyncio.run(with_aiohttp(port)),
    "httpx AsyncClient": lambda port: asyncio.run(with_httpx(port)),
}


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    results: dict[tuple[str, str], list[float]] = {}
    for round_ in range(rounds):
        for stack, options in STACKS.items():
            port = free_port()
            command = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory"]
            command += ["--host", "127.0.0.1", f"--port={port}", *options]
            with start_server(command, dict(os.environ), port):
                stdlib(port)  # the first answer is new; the rest are kept
                for client, run in CLIENTS.items():
                    p50 = statistics.median(run(port))
                    results.setdefault((stack, client), []).append(p50)
                    print(f"round {round_ + 1}: {stack:32} {client:18} p50 {p50:.2f} ms", flush=True)
    print(f"\nmedian of {rounds} rounds, p50 ms per request (a kept answer, one connection)")
    print(f"{'':32} " + " ".join(f"{client:>18}" for client in CLIENTS))
    for stack in STACKS:
        row = " ".join(f"{statistics.median(results[(stack, client)]):>18.2f}" for client in CLIENTS)
        print(f"{stack:32} {row}")


if __name__ == "__main__":
    main()
