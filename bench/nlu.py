"""NLU, objection matching and AMD-layer accuracy on the project's labelled French sets, and
the matcher's latency over a 1,000-entry library.

    python -m bench.nlu [--sets dev,test] [--no-embeddings]

Prints one table line per set, then one JSON line last: intent_accuracy,
objection_top1_accuracy, amd_accuracy on the `holdout` sets (written last, by someone who saw
neither the training data nor the other sets, and never used to tune anything), the same on the
`test` sets (`_test`; their errors were read while tuning, so they flatter), and match_p50_ms /
match_p95_ms (one match over 1,000 entries), classify_p50_ms / classify_p95_ms.
The former `dev` set is training data now (scenarios/nlu/utterances.jsonl).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

from bot.dialog.nlu.embeddings import Embedder
from bot.dialog.nlu.offline import OfflineClassifier
from bot.dialog.objections.library import BASE_THEMES, Library, load_library
from bot.dialog.objections.matcher import ObjectionMatcher

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def nlu_scores(classifier: OfflineClassifier, rows: list[dict], show_errors: bool) -> tuple[float, float, list[float]]:
    intent_ok = objection_ok = objection_n = 0
    latencies = []
    confusions: Counter = Counter()
    for row in rows:
        start = time.perf_counter()
        got = classifier.classify(row["text"])
        latencies.append((time.perf_counter() - start) * 1000)
        intent_ok += got.intent.value == row["intent"]
        if row.get("objection"):
            objection_n += 1
            objection_ok += got.objection == row["objection"]
        if show_errors and (
            got.intent.value != row["intent"] or (row.get("objection") and got.objection != row["objection"])
        ):
            confusions[(row["intent"], got.intent.value)] += 1
            print(
                f"  {row['text']!r}: want {row['intent']}/{row.get('objection')} "
                f"got {got.intent.value}/{got.objection} {got.score:.2f} {got.source}"
            )
    if show_errors and confusions:
        print("  confusions (want, got):", dict(confusions.most_common(12)))
    return intent_ok / len(rows), objection_ok / max(objection_n, 1), latencies


def amd_accuracy(rows: list[dict], show_errors: bool) -> tuple[float, int]:
    """Accuracy, and how many people were taken for machines (the costly error)."""
    from bot.dialog.amd import AmdEvidence, classify

    ok = humans_lost = 0
    for row in rows:
        verdict = classify(
            AmdEvidence(row["transcript"], int(row["speech_ms"]), row.get("amd_status"), row.get("amd_cause"))
        )
        ok += verdict.label == row["label"]
        humans_lost += row["label"] == "human" and verdict.label == "machine"
        if show_errors and verdict.label != row["label"]:
            print(
                f"  AMD {row['transcript']!r} {row['speech_ms']} ms {row.get('amd_status')}: want {row['label']}, "
                f"got {verdict.label} ({verdict.reason})"
            )
    return ok / len(rows), humans_lost


def thousand_entries(library: Library, rng: random.Random) -> Library:
    """The real entries, then shuffled-word variants of them, to 1,000 entries."""
    entries = list(library.entries)
    base = list(entries)
    while len(entries) < 1000:
        source = rng.choice(base)
        phrasings = tuple(" ".join(rng.sample(p.split(), len(p.split()))) for p in source.phrasings)
        entries.append(replace(source, id=f"{source.id}_v{len(entries)}", phrasings=phrasings))
    return Library(tuple(entries))


def matcher_latency(library: Library, embedder: Embedder | None, queries: list[str]) -> list[float]:
    big = thousand_entries(library, random.Random(7))
    matcher = ObjectionMatcher(big, embedder=embedder)
    vectors = [matcher.index.embed(q) for q in queries]  # the utterance is embedded once, by the classifier
    for q, v in zip(queries[:20], vectors[:20], strict=False):  # warm-up
        matcher.match(q, v)
    times = []
    for q, v in zip(queries, vectors, strict=True):
        start = time.perf_counter()
        matcher.match(q, v)
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="test,holdout")
    parser.add_argument("--no-embeddings", action="store_true")
    parser.add_argument("--errors", action="store_true", help="print every misclassified line")
    args = parser.parse_args()

    library = load_library().select(BASE_THEMES)
    embedder = None if args.no_embeddings else Embedder()
    classifier = OfflineClassifier(library, embedder=embedder)
    result: dict[str, float | int | bool] = {
        "embeddings": embedder is not None,
        "library_entries": len(load_library().entries),
    }
    all_latencies: list[float] = []
    queries: list[str] = []
    for name in args.sets.split(","):
        rows = read_jsonl(DATA / f"nlu_{name}.jsonl")
        queries += [r["text"] for r in rows]
        intent, objection, latencies = nlu_scores(classifier, rows, args.errors)
        all_latencies += latencies
        amd_rows = read_jsonl(DATA / f"amd_{name}.jsonl")
        amd, humans_lost = amd_accuracy(amd_rows, args.errors)
        suffix = "" if name == "holdout" else f"_{name}"
        result |= {
            f"intent_accuracy{suffix}": round(intent, 4),
            f"objection_top1_accuracy{suffix}": round(objection, 4),
            f"amd_accuracy{suffix}": round(amd, 4),
            f"amd_humans_as_machine{suffix}": humans_lost,
            f"nlu_utterances{suffix}": len(rows),
            f"amd_greetings{suffix}": len(amd_rows),
        }
        print(
            f"{name}: intent {intent:.3f}  objection {objection:.3f}  amd {amd:.3f} ({humans_lost} humans as machine)"
            f"  over {len(rows)} utterances / {len(amd_rows)} greetings"
        )
    match = matcher_latency(library, embedder, queries)
    result |= {
        "match_entries": 1000,
        "match_p50_ms": round(statistics.median(match), 3),
        "match_p95_ms": round(float(np.percentile(match, 95)), 3),
        "classify_p50_ms": round(statistics.median(all_latencies), 3),
        "classify_p95_ms": round(float(np.percentile(all_latencies, 95)), 3),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
