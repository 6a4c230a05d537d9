"""What the parts of a worker's memory cost, each in a fresh process: the figures behind docs/speed.md's "Memory".

    .venv/bin/python scripts/memory_parts.py

1. The tokenizer: ``tokenizers``' own Unigram model against :class:`~assistant.model.unigram.CompactUnigram`,
   each loaded alone (``RssAnon`` growth after ``malloc_trim``), and the p50 time to tokenize one held-out
   question with each.
2. A loaded assistant at ready, before and after :func:`~assistant.memory.give_back_free_memory`,
   and what of it is file pages (UniDic's dictionary among them).
3. line-bot-sdk: what importing it adds to a process that has imported the app.
4. py3langid: the Python memory its model holds (``tracemalloc``), loaded by py3langid and over the tables
   :mod:`assistant.answering.langid` reads from files, and the p50 time to classify a Latin-script question.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

PRELUDE = textwrap.dedent(
    """
    import json, statistics, sys, time
    def status(*keys):
        out = {}
        for line in open("/proc/self/status"):
            name = line.split(":")[0]
            if name in keys:
                out[name] = int(line.split()[1]) / 1024
        return out
    from assistant.memory import give_back_free_memory as trim
    """
)

TOKENIZER = textwrap.dedent(
    """
    from pathlib import Path
    import tokenizers
    from assistant.config import ROOT, get_settings
    from assistant.model.onnx_backend import export_dir_for
    from assistant.model.unigram import load_tokenizer
    file = export_dir_for(Path(get_settings().model_spec)) / "tokenizer.json"
    questions = [
        "query: " + json.loads(line)["question"]
        for path in sorted((ROOT / "eval" / "questions").glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    trim(); before = status("RssAnon")["RssAnon"]
    if sys.argv[1] == "library":
        tokenizer = tokenizers.Tokenizer.from_file(str(file))
        tokenizer.enable_truncation(max_length=512)
        encode = lambda text: tokenizer.encode(text).ids
    else:
        compact = load_tokenizer(file, 512)
        encode = lambda text: compact.encode_ids([text])[0]
    trim(); after = status("RssAnon")["RssAnon"]
    times = []
    for text in questions:
        started = time.perf_counter(); encode(text); times.append((time.perf_counter() - started) * 1e6)
    print(json.dumps({"mb": round(after - before, 1), "us_p50": round(statistics.median(times), 1)}))
    """
)

READY = textwrap.dedent(
    """
    from assistant.answering.language import detect
    from assistant.answering.service import Assistant
    from assistant.config import get_settings
    from assistant.memory import give_back_free_memory
    assistant = Assistant.load(get_settings())
    # Assistant.warm_up without its last step, give_back_free_memory:
    assistant.embedder.warm_up(); assistant.analyzer.warm_up(); assistant.retriever.search("病児保育")
    detect("byouji hoiku wa doko desu ka", parser=assistant.analyzer.parse)
    ready = status("VmRSS")["VmRSS"]
    give_back_free_memory()
    files = {}
    name = None
    for line in open("/proc/self/smaps"):
        parts = line.split()
        if "-" in parts[0] and ":" not in parts[0]:
            name = parts[5] if len(parts) > 5 else ""
        elif parts[0] == "Rss:" and name and name.startswith("/"):
            files[name] = files.get(name, 0) + int(parts[1]) / 1024
    unidic = sum(mb for path, mb in files.items() if "unidic" in path)
    trimmed = status("VmRSS", "RssFile")
    print(json.dumps({"ready_mb": round(ready), "after_trim_mb": round(trimmed["VmRSS"]),
                      "file_pages_mb": round(trimmed["RssFile"]), "unidic_mb": round(unidic)}))
    """
)

LINE = textwrap.dedent(
    """
    import api.app
    trim(); before = status("RssAnon")["RssAnon"]
    import linebot.v3.messaging, linebot.v3.webhooks
    trim(); print(json.dumps({"mb": round(status("RssAnon")["RssAnon"] - before, 1)}))
    """
)

LANGID = textwrap.dedent(
    """
    import tracemalloc
    from py3langid.langid import MODEL_FILE, LanguageIdentifier
    from assistant.answering.langid import LANGID_DIR, load_identifier, write_tables
    from assistant.config import ROOT, get_settings
    folder = get_settings().cache_dir / LANGID_DIR
    write_tables(folder)
    latin = [
        q for q in (
            json.loads(line)["question"]
            for path in sorted((ROOT / "eval" / "questions").glob("*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()
        )
        if sum(c.isascii() for c in q) > 0.8 * len(q)
    ]
    tracemalloc.start()
    if sys.argv[1] == "library":
        identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    else:
        identifier = load_identifier(folder)
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    times = []
    for text in latin:
        started = time.perf_counter(); identifier.classify(text); times.append((time.perf_counter() - started) * 1e6)
    print(json.dumps({"mb": round(held / 1e6, 1), "us_p50": round(statistics.median(times), 1), "n": len(latin)}))
    """
)


def run(code: str, *args: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", PRELUDE + code, *args], capture_output=True, text=True, check=False, timeout=600
    )
    if done.returncode != 0:
        raise SystemExit(f"a measurement failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    library, compact = run(TOKENIZER, "library"), run(TOKENIZER, "compact")
    print(f"tokenizer: tokenizers' Unigram {library['mb']} MB, {library['us_p50']} µs per question (p50);")
    print(f"           CompactUnigram {compact['mb']} MB, {compact['us_p50']} µs per question (p50)")
    ready = run(READY)
    print(
        f"assistant at ready: {ready['ready_mb']} MB, {ready['after_trim_mb']} MB after malloc_trim; "
        f"file pages {ready['file_pages_mb']} MB, of which UniDic {ready['unidic_mb']} MB"
    )
    print(f"line-bot-sdk import: {run(LINE)['mb']} MB")
    library, tables = run(LANGID, "library"), run(LANGID, "tables")
    print(
        f"py3langid: its model in memory {library['mb']} MB as tracemalloc counts it, "
        f"{library['us_p50']} µs per Latin-script question (p50 of {library['n']});"
    )
    print(f"           over the tables read from files {tables['mb']} MB, {tables['us_p50']} µs per question (p50)")


if __name__ == "__main__":
    main()
