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
from nlu.evaluation import (
    DEV,
    LANGUAGES,
    TESTS,
    IntentScores,
    load_intent_tests,
    load_safety_set,
    ordinary_messages,
    safety_sets,
    score_intents,
    score_safety,
)
from nlu.safety import model as danger_model
from nlu.safety.assess import default_safety

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
    """The danger model (seconds, in this process) and then the Rasa model, each only if its data changed."""
    print(danger_model.train(force=args.force))
    if not args.safety_only:
        print(service.train(force=args.force))
    return 0


def cmd_classify(args: argparse.Namespace, settings: object = None) -> int:
    """What the bot would do with each line: the same safety assessment and the same intent (loss gate
    included) that a mother's message gets."""
    safety = default_safety()
    with nlu_server() as url:
        client = NluClient(url, timeout=5.0)
        for line in sys.stdin:
            text = line.rstrip("\n")
            if not text.strip():
                continue
            understood = client.parse(text)
            assessed = safety.assess(text, args.lang, baby_age_days=args.baby_age_days, expecting=args.expecting)
            print(
                json.dumps(
                    {
                        "text": text,
                        "lang": args.lang,
                        "intent": understood.intent,
                        "confidence": round(understood.confidence, 4),
                        "safety": assessed.category.value if assessed.category else None,
                        "safety_level": assessed.level.value if assessed.level else None,
                        "safety_source": assessed.source,
                        "danger_score": round(assessed.score, 4),
                    },
                    ensure_ascii=False,
                ),
                flush=True,
            )
    return 0


def safety_report() -> list[str]:
    """Safety recall per category and language, and false alarms per level, on every set; printed and returned."""
    safety = default_safety()
    out: list[str] = []
    sets = [(name, load_safety_set(name)) for name in safety_sets()]
    sets.append(("ordinary (intent test set, nlu/tests)", ordinary_messages()))
    for name, messages in sets:
        scores = score_safety(safety, messages)
        out.append(f"\nsafety on {name}:")
        if scores.total:
            categories = sorted({c for _, c in scores.total})
            out.append(f"{'lang':<9}" + "".join(f"{c[:15]:>16}" for c in categories) + f"{'all danger':>22}")
            for language in [*LANGUAGES, None]:
                cells = []
                for category in categories:
                    found, total = scores.recall(language, category)
                    cells.append(f"{found}/{total}" if total else "-")
                found, total = scores.recall(language)
                label = language or "all"
                out.append(f"{label:<9}" + "".join(f"{c:>16}" for c in cells) + f"{_pct(found, total):>22}")
        if scores.negatives:
            crisis, negatives = scores.alarm_rate("crisis")
            check, _ = scores.alarm_rate("check")
            out.append(
                f"false alarms on {negatives} non-danger messages: crisis {_pct(crisis, negatives)}, "
                f"check {_pct(check, negatives)}, any {_pct(crisis + check, negatives)}"
            )
    print("\n".join(out))
    return out


def _pct(part: int, whole: int) -> str:
    return f"{part}/{whole} = {part / whole:.1%}" if whole else "-"


def cmd_evaluate(args: argparse.Namespace, settings: object = None) -> int:
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    if args.safety_only:
        (REPORT_DIR / "safety.md").write_text("\n".join(safety_report()) + "\n", encoding="utf-8")
        return 0
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
    safety_lines = safety_report()
    ordered = sorted(latencies)
    p50, p99 = ordered[len(ordered) // 2] * 1000, ordered[int(len(ordered) * 0.99)] * 1000
    print(f"\nparse latency over HTTP: p50 {p50:.1f} ms, p99 {p99:.1f} ms ({len(ordered)} requests)")
    lines += [
        "",
        f"Parse latency: p50 {p50:.1f} ms, p99 {p99:.1f} ms",
        "",
        "```",
        *safety_lines,
        "```",
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
    train.add_argument("--safety-only", action="store_true", help="only the danger model (no Rasa needed)")
    train.set_defaults(func=cmd_train)
    classify = sub.add_parser("classify", help="stdin lines → JSON lines with intent and safety")
    classify.add_argument("--lang", default=None)
    classify.add_argument(
        "--baby-age-days", type=int, default=None, help="her baby's recorded age, as the bot knows it"
    )
    classify.add_argument("--expecting", action="store_true", help="she is pregnant and no baby is born")
    classify.set_defaults(func=cmd_classify)
    evaluate = sub.add_parser("evaluate", help="scores on held-out data, and a report")
    evaluate.add_argument("--safety-only", action="store_true", help="only the safety sets (no Rasa needed)")
    evaluate.set_defaults(func=cmd_evaluate)
