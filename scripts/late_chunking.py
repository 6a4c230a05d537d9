"""Experiment, not shipped: sentences and clauses read from the whole message's token embeddings.

Today a long or two-need message embeds the whole message and then each of its sentences and clauses
separately, about 2.2 texts per answer. That is what bounds throughput (docs/speed.md). With
*late chunking*, the model reads the message once. A sentence's or clause's vector is then the mean of
the message's token embeddings over that sentence's span. The prompt tokens and [CLS]/[SEP] are
included, as the model's mean pooling includes them. Only the whole message and the conversation's
context text still go to the model. This script runs the eval that way, with the shipped parameters
(not refitted), and prints the figures to set beside ``assistant eval`` and how many texts per
question still reach the model::

    .venv/bin/python scripts/late_chunking.py eval/tuning eval/questions

The token embeddings come from the sentence-transformers model (torch), the same weights the ONNX
export serves. The ONNX graph outputs only pooled vectors, so adopting this would need an export that
also outputs token embeddings.
"""

from __future__ import annotations

import sys
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import numpy as np

import assistant.answering.service as service
from assistant.answering.service import Assistant
from assistant.config import get_settings
from assistant.evaluation.metrics import compute_metrics, run_questions
from assistant.evaluation.questions import load_questions
from assistant.model.embeddings import Embedder, load_sentence_transformer

FIGURES = ["hit_at_1", "abstention_recall", "false_abstention_rate", "conversation_turns", "two_needs_both"]


def main() -> None:
    import torch

    settings = get_settings()
    model = load_sentence_transformer(settings.model_spec, threads=settings.torch_threads)
    tokenizer, bert = model.tokenizer, model[0].auto_model
    prompt = model.prompts.get("query", "")
    spans: dict[str, Any] = {}

    def late(message: str, texts: list[str]) -> dict[str, Any]:
        encoded = tokenizer(prompt + message, return_offsets_mapping=True, truncation=True, return_tensors="pt")
        offsets = encoded.pop("offset_mapping")[0].tolist()
        with torch.no_grad():
            hidden = bert(**encoded).last_hidden_state[0].numpy()
        vectors = {}
        for text in texts:
            start = message.find(text)
            if start < 0:
                continue
            start += len(prompt)
            end = start + len(text)
            keep = {0, len(offsets) - 1} | {
                i for i, (s, e) in enumerate(offsets) if e > s and (e <= len(prompt) or (s >= start and e <= end))
            }
            vector = hidden[sorted(keep)].mean(axis=0)
            vectors[text] = (vector / np.linalg.norm(vector)).astype(np.float32)
        return vectors

    evidence = Assistant.evidence
    submit = Embedder.submit_queries

    def late_evidence(self: Assistant, query: str, *, japanese: bool, context: str | None = None) -> Any:
        pieces = [t for t in dict.fromkeys(service.sentences(query) + service.segments(query)) if t != query]
        spans.clear()
        spans.update(late(query, pieces) if pieces else {})
        try:
            return evidence(self, query, japanese=japanese, context=context)
        finally:
            spans.clear()

    counts = {"model": 0, "late": 0}

    def late_submit(self: Embedder, texts: list[str]) -> list[Future[Any]]:
        futures = {}
        for text in texts:
            if text in spans:
                counts["late"] += 1
                done: Future[Any] = Future()
                done.set_result(spans[text])
                futures[text] = done
        rest = [text for text in texts if text not in futures]
        counts["model"] += len(rest)
        futures.update(zip(rest, submit(self, rest), strict=True))
        return [futures[text] for text in texts]

    Assistant.evidence = late_evidence  # type: ignore[method-assign]
    Embedder.submit_queries = late_submit  # type: ignore[method-assign]
    assistant = Assistant.load(settings)
    # No caches: a clause's late vector must not stand in for the same text asked on its own, nor the reverse.
    assistant.retriever.cache_size = 0
    assistant.embedder.cache_size = 0
    for folder in sys.argv[1:] or ["eval/questions"]:
        assistant.retriever.clear_cache()
        assistant.clear_answers()
        questions = load_questions([Path(folder)], set(assistant.corpus.projects))
        counts.update(model=0, late=0)
        metrics = compute_metrics(run_questions(assistant, questions))
        print(folder, {name: round(getattr(metrics, name), 4) for name in FIGURES})
        per = {k: round(v / len(questions), 2) for k, v in counts.items()}
        print(f"  texts per question: {per['model']} to the model, {per['late']} read from the message's tokens")


if __name__ == "__main__":
    main()
