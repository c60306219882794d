"""`dodam nlu …`: train, classify, evaluate."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from nlu import service
from nlu.client import NluClient
from nlu.evaluation import DEV, LANGUAGES, TESTS, IntentScores, load_intent_tests, score_intents, score_safety
from nlu.safety import default_detector

REPORT_DIR = service.ROOT / "var" / "nlu-report"


@contextmanager
def nlu_server() -> Iterator[str]:
    """The configured server (DODAM_NLU_URL), or a temporary one from the trained model."""
    url = os.environ.get("DODAM_NLU_URL", "").strip()
    if url:
        yield url
        return
    model = service.model_path()
    if not model.exists():
        raise service.NluUnavailable("no trained model for the current data: run `make nlu-train`")
    server = service.RasaServer(model)
    print(f"starting a temporary Rasa server on {server.url} …", file=sys.stderr)
    server.start(supervise=False)
    try:
        yield server.url
    finally:
        server.stop()


def cmd_train(args: argparse.Namespace, settings: object = None) -> int:
    path = service.train(force=args.force)
    print(path)
    return 0


def cmd_classify(args: argparse.Namespace, settings: object = None) -> int:
    detector = default_detector()
    with nlu_server() as url:
        client = NluClient(url, timeout=5.0)
        for line in sys.stdin:
            text = line.rstrip("\n")
            if not text.strip():
                continue
            understood = client.parse(text)
            hit = detector.detect(text, args.lang)
            print(
                json.dumps(
                    {
                        "text": text,
                        "lang": args.lang,
                        "intent": understood.intent,
                        "confidence": round(understood.confidence, 4),
                        "safety": hit.category.value if hit else None,
                    },
                    ensure_ascii=False,
                ),
                flush=True,
            )
    return 0


def cmd_evaluate(args: argparse.Namespace, settings: object = None) -> int:
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    lines = ["# NLU evaluation", ""]
    sets = {"test": TESTS, "dev": DEV}
    scores: dict[str, list[IntentScores]] = {name: [] for name in sets}
    latencies: list[float] = []
    with nlu_server() as url:
        client = NluClient(url, timeout=5.0)

        def predict(text: str) -> str:
            started = time.perf_counter()
            intent = client.parse(text).intent
            latencies.append(time.perf_counter() - started)
            return intent

        for name, root in sets.items():
            for language in LANGUAGES:
                scores[name].append(score_intents(language, load_intent_tests(language, root), predict))
    for name, root in sets.items():
        print(f"\n{name} set ({root.relative_to(root.parents[1])}):")
        lines.append(f"## {name} set ({root.relative_to(root.parents[1])})")
        print(f"{'lang':<8}{'intent':<17}{'prec':>7}{'recall':>8}{'f1':>7}{'n':>5}")
        for result in scores[name]:
            for intent, (p, r, f1, n) in sorted(result.per_intent.items()):
                print(f"{result.language:<8}{intent:<17}{p:>7.2f}{r:>8.2f}{f1:>7.2f}{n:>5}")
            print(f"{result.language:<8}{'macro-F1':<17}{'':>7}{'':>8}{result.macro_f1:>7.3f}{result.total:>5}")
            lines.append(f"- {result.language}: macro-F1 {result.macro_f1:.3f} on {result.total} messages")
        lines.append("")
    safety = score_safety(default_detector())
    print("\nsafety detector (nlu/tests/safety):")
    for category, (found, total) in sorted(safety.recall.items()):
        print(f"  {category:<16} recall {found}/{total} = {found / total:.3f}")
    print(
        f"  false alarms on tricky non-danger messages: {safety.false_alarms}/{safety.negatives} = "
        f"{safety.false_alarm_rate:.3%}"
    )
    ordered = sorted(latencies)
    p50, p99 = ordered[len(ordered) // 2] * 1000, ordered[int(len(ordered) * 0.99)] * 1000
    print(f"\nparse latency over HTTP: p50 {p50:.1f} ms, p99 {p99:.1f} ms ({len(ordered)} requests)")
    lines += [
        "",
        f"Parse latency: p50 {p50:.1f} ms, p99 {p99:.1f} ms",
        "",
        *[f"- safety {c}: {f}/{t}" for c, (f, t) in sorted(safety.recall.items())],
        f"- false alarms: {safety.false_alarms}/{safety.negatives}",
    ]
    image = _confusion_image(scores["test"], REPORT_DIR / "confusion.png")
    lines += ["", f"![confusion matrix]({image.name})"]
    (REPORT_DIR / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"\nreport: {REPORT_DIR / 'report.md'} (confusion matrix: {image})")
    return 0


def _confusion_image(scores: list, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = sorted({g for s in scores for g, _ in s.confusion} | {p for s in scores for _, p in s.confusion})
    fig, axes = plt.subplots(1, len(scores), figsize=(5 * len(scores), 5))
    for ax, result in zip(axes, scores, strict=True):
        matrix = [[result.confusion.get((g, p), 0) for p in labels] for g in labels]
        ax.imshow(matrix, cmap="Blues")
        ax.set_title(f"{result.language} (macro-F1 {result.macro_f1:.2f})")
        ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
        ax.set_yticks(range(len(labels)), labels, fontsize=7)
        for i, row in enumerate(matrix):
            for j, value in enumerate(row):
                if value:
                    ax.text(j, i, str(value), ha="center", va="center", fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def register(subparsers: argparse._SubParsersAction) -> None:
    nlu = subparsers.add_parser("nlu", help="understanding free text (Rasa) and the safety detector")
    sub = nlu.add_subparsers(dest="nlu_command", required=True)
    train = sub.add_parser("train", help="train the model unless the data is unchanged")
    train.add_argument("--force", action="store_true")
    train.set_defaults(func=cmd_train)
    classify = sub.add_parser("classify", help="stdin lines → JSON lines with intent and safety")
    classify.add_argument("--lang", default=None)
    classify.set_defaults(func=cmd_classify)
    sub.add_parser("evaluate", help="scores on held-out data, and a report").set_defaults(func=cmd_evaluate)
