"""Accuracy on the labelled dev sets, for each calibration mode, beside the majority baseline.

`python -m bench.accuracy [--rows N] [--model PATH]` prints a Markdown table and writes
bench/accuracy.json. The gold-fitted threshold is cross-fitted (2 folds) so that it is
never scored on the rows it was fitted on.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np
import polars as pl

from fastsheet.cache import ResultCache
from fastsheet.calibrate import Calibration, Mode, calibrate_flag, calibrate_label
from fastsheet.llama_backend import LlamaBackend
from fastsheet.metrics import auc, binary_agreement, multiclass_auc, multiclass_balanced_accuracy
from fastsheet.models import resolve_model
from fastsheet.paths import default_cache_path
from fastsheet.rules import Kind, Rule
from fastsheet.runner import RuleRunner, evaluate
from fastsheet.summary import gold_flags, gold_labels

DATA = Path(__file__).parent / "data"
LABELS = ("abbreviation", "description", "entity", "location", "number", "person")
log = logging.getLogger("bench.accuracy")


def _sample(frame: pl.DataFrame, rows: int | None) -> pl.DataFrame:
    """The same sample the speed benchmark times (seed 0), so its answers are reused."""
    return frame if rows is None or rows >= frame.height else frame.sample(rows, seed=0)


def flag_accuracy(backend: LlamaBackend, cache: ResultCache, rows: int | None) -> dict:
    frame = _sample(pl.read_csv(DATA / "reviews.csv"), rows)
    runner = RuleRunner(frame, Rule("The review is positive."), backend, cache, exclude=["gold"])
    result = evaluate(runner)
    p, gold = result.p_yes(), gold_flags(frame["gold"]).astype(bool)
    p_cf = [a.p for a in runner.content_free_answers()]
    folds = np.random.default_rng(0).permutation(len(p)) % 2
    cross = np.zeros(len(p), dtype=bool)
    for k in (0, 1):
        t = calibrate_flag(Mode.GOLD, p[folds != k], gold[folds != k]).threshold
        cross[folds == k] = p[folds == k] >= t
    decisions = {
        "none (p > 0.5)": p >= 0.5,
        "content-free (default)": p
        >= calibrate_flag(Mode.CONTENT_FREE, content_free_p=p_cf).threshold,
        "distribution (Otsu)": p >= calibrate_flag(Mode.DISTRIBUTION, p).threshold,
        "gold (2-fold cross-fit)": cross,
    }
    out = {"rows": len(p), "auc": auc(p, gold), "majority": max(gold.mean(), 1 - gold.mean())}
    for mode, d in decisions.items():
        a = binary_agreement(d, gold)
        out[mode] = {"accuracy": a.accuracy, "balanced_accuracy": a.balanced_accuracy}
    return out


def label_accuracy(backend: LlamaBackend, cache: ResultCache, rows: int | None) -> dict:
    frame = _sample(pl.read_csv(DATA / "questions.csv"), rows)
    rule = Rule("What the question asks for.", kind=Kind.LABEL, labels=LABELS)
    runner = RuleRunner(frame, rule, backend, cache, exclude=["gold"])
    result = evaluate(runner)
    gold = gold_labels(frame["gold"], LABELS)
    cf = np.asarray([a.probs for a in runner.content_free_answers()])
    counts = np.bincount(gold.astype(int), minlength=len(LABELS))
    out = {
        "rows": len(gold),
        "auc": multiclass_auc(result.probs.astype(float), gold.astype(int)),
        "majority": counts.max() / counts.sum(),
    }
    for mode, cal in (
        ("none (argmax)", Calibration()),
        ("content-free (default)", calibrate_label(Mode.CONTENT_FREE, cf)),
    ):
        pred, _ = result.decide(cal)
        out[mode] = {
            "accuracy": float(np.mean(pred == gold)),
            "balanced_accuracy": multiclass_balanced_accuracy(pred, gold),
        }
    return out


def table(results: dict) -> str:
    lines = [
        "| dataset | rows | AUC | majority baseline | calibration | accuracy | balanced accuracy |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        for mode, m in r.items():
            if isinstance(m, dict):
                lines.append(
                    f"| {name} | {r['rows']:,} | {r['auc']:.3f} | {r['majority']:.3f} | {mode} "
                    f"| {m['accuracy']:.3f} | {m['balanced_accuracy']:.3f} |"
                )
    return "\n".join(lines)


def run(model: str | None = None, rows: int | None = None) -> dict:
    backend = LlamaBackend(resolve_model(model))
    cache = ResultCache(default_cache_path())
    try:
        return {
            "reviews.csv (flag)": flag_accuracy(backend, cache, rows),
            "questions.csv (label)": label_accuracy(backend, cache, rows),
        }
    finally:
        backend.close()
        cache.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, help="sample this many rows of each set")
    parser.add_argument("--model")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    results = run(args.model, args.rows)
    (Path(__file__).parent / "accuracy.json").write_text(json.dumps(results, indent=2))
    print(table(results))


if __name__ == "__main__":
    main()
