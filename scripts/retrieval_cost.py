"""What retrieval costs without the model: the CPU time of the dense and lexical scoring of a text.

The figure behind docs/speed.md's "The scoring outside the model"::

    .venv/bin/python scripts/retrieval_cost.py [questions, default 400]

Loads the assistant as the server does, searches the held-out questions once so their vectors are
in the embedder's cache, then three times more with the retriever's score cache emptied: each round
scores every passage and every project's BM25 for every question, and embeds nothing. Prints the
CPU milliseconds per question of each round.
"""

from __future__ import annotations

import sys
import time

from assistant.answering.service import Assistant
from assistant.config import ROOT, get_settings
from assistant.corpus import load_corpus
from assistant.evaluation.questions import load_questions


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    settings = get_settings()
    assistant = Assistant.load(settings)
    assistant.warm_up()
    projects = set(load_corpus(settings.corpus_dir).projects)
    items = load_questions([ROOT / "eval" / "questions"], projects)
    questions = [q.question for q in items if not q.follow_up_of][:count]
    retriever = assistant.retriever
    for question in questions:
        retriever.search(question)  # the vectors are now cached: the rounds below embed nothing
    rounds = []
    for _ in range(3):
        retriever._scores.clear()
        started = time.process_time()
        for question in questions:
            retriever.search(question)
        rounds.append((time.process_time() - started) * 1000 / len(questions))
    print(
        f"{len(questions)} questions, retrieval without the model, CPU ms per question: "
        + ", ".join(f"{r:.3f}" for r in rounds)
    )


if __name__ == "__main__":
    main()
