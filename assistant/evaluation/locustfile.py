"""Locust scenario for ``assistant load`` (``make load``): residents asking questions, some following up.

Each simulated resident keeps one conversation (a session id) and asks questions drawn from the
held-out and tuning sets (the file ``ASSISTANT_LOAD_QUESTIONS`` names, written by
:mod:`assistant.evaluation.load`), one after another with no pause: a burst, not a trickle.
A response counts as a failure unless it is a 200 with an answer.

This file is loaded by locust, which patches the standard library with gevent first; it imports
nothing from the assistant.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from pathlib import Path

from locust import FastHttpUser, constant, task

QUESTIONS: list[str] = json.loads(Path(os.environ["ASSISTANT_LOAD_QUESTIONS"]).read_text(encoding="utf-8"))
FOLLOW_UPS = ["それはどこにありますか？", "who can use it?", "いつ使えますか", "How do I apply?"]


class Resident(FastHttpUser):
    """One resident: a session, questions back to back, now and then a follow-up."""

    wait_time = constant(0)

    def on_start(self) -> None:
        self.session_id = uuid.uuid4().hex

    def _ask(self, question: str, name: str) -> None:
        body = {"question": question, "session_id": self.session_id}
        with self.client.post("/v1/ask", json=body, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}: {response.text[:200]}")
            elif not (response.json() or {}).get("answer"):
                response.failure("a 200 without an answer")
            else:
                response.success()

    @task(4)
    def ask(self) -> None:
        self._ask(random.choice(QUESTIONS), "/v1/ask")

    @task(1)
    def follow_up(self) -> None:
        self._ask(random.choice(FOLLOW_UPS), "/v1/ask (follow-up)")
