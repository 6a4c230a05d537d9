"""Test data for the store: answers shaped like ``AskResult`` (the store reads them through a protocol)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Cited:
    project_id: str


@dataclass(frozen=True)
class Answer:
    """The fields of an answer the recorder reads."""

    citations: list[Cited] = field(default_factory=list)
    lang: str = "ja"
    answer_lang: str = "ja"
    abstained: bool = False
    confidence: float = 0.9
    follow_up: bool = False
    answer_id: str = field(default_factory=lambda: uuid.uuid4().hex)


def answer(*projects: str, **kwargs: object) -> Answer:
    """An answer citing ``projects`` (none: an abstention)."""
    return Answer(citations=[Cited(p) for p in projects], abstained=not projects, **kwargs)  # type: ignore[arg-type]
