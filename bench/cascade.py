"""A cascade's test: can a light classifier on cached row features stand in for
the model on the rows it has not judged?

`python -m bench.cascade [--rows 500] [--tasks a,b] [--features a,b]` writes bench/cascade.json.
For each flag task of the dev suite, the default model judges a seeded sample of rows
(its own answers at the app's unlabeled threshold; gold is never used). Rule-independent
features are computed per row. A logistic regression trained on the first k judged rows
(k = 100, 200, 400) predicts the last rows of the sample, which it never saw; agreement is
the share of those rows where it gives the model's answer. The majority answer of the
training rows is the baseline any classifier must beat.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import logging
import re
import statistics
import time
from pathlib import Path

import numpy as np
import polars as pl

from bench.tasks import DATA, Task, load_tasks
from fastsheet.backends.llama_backend import LlamaBackend
from fastsheet.backends.models import resolve_model
from fastsheet.data.paths import cache_dir, default_cache_path
from fastsheet.data.table import record_columns, records
from fastsheet.kinds.rules import Kind
from fastsheet.sheet.cache import ResultCache
from fastsheet.sheet.runner import RuleRunner, default_calibration, evaluate

OUT = Path(__file__).parent / "cascade.json"
BUDGETS = (100, 200, 400)
TARGET = 0.90  # the median task's agreement at 400 judged rows that would ship estimates
FEATURES = ("words", "hidden-0.5b", "hidden-1.5b")
HIDDEN_MODELS = {"hidden-0.5b": "qwen2.5-coder-0.5b", "hidden-1.5b": "qwen2.5-coder-1.5b"}
log = logging.getLogger("bench.cascade")


# ----- features (rule-independent, cached per dataset and feature) ------------------------------


def hashed_words(texts: list[str], dim: int = 4096) -> np.ndarray:
    """Hashed unigrams and bigrams, log counts: a bag of words with no model at all."""
    out = np.zeros((len(texts), dim), dtype=np.float32)
    for i, text in enumerate(texts):
        words = re.findall(r"\w+", text.lower())
        for token in words + [f"{a} {b}" for a, b in itertools.pairwise(words)]:
            h = int.from_bytes(hashlib.blake2b(token.encode(), digest_size=4).digest(), "little")
            out[i, h % dim] += 1.0
    return np.log1p(out)


def hidden_states(texts: list[str], model: str, threads: int | None) -> np.ndarray:
    """The model's last hidden state over each record alone, mean-pooled (llama.cpp)."""
    import llama_cpp

    llm = llama_cpp.Llama(
        str(resolve_model(model)),
        embedding=True,
        pooling_type=llama_cpp.LLAMA_POOLING_TYPE_MEAN,
        n_ctx=2048,
        n_batch=2048,
        n_ubatch=2048,
        n_threads=threads,
        verbose=False,
    )
    try:
        rows = []
        for start in range(0, len(texts), 16):
            rows += llm.embed(texts[start : start + 16], normalize=False, truncate=True)
        return np.asarray(rows, dtype=np.float32)
    finally:
        llm.close()


def features(
    name: str, task: Task, texts: list[str], threads: int | None
) -> tuple[np.ndarray, float]:
    """(features, ms per row to compute them), from the cache folder when already computed."""
    digest = hashlib.sha256("\x1e".join(texts).encode()).hexdigest()[:16]
    path = cache_dir() / "features" / f"{task.name}-{name}-{digest}.npz"
    if path.exists():
        stored = np.load(path)
        return stored["x"], float(stored["ms"])
    start = time.perf_counter()
    if name == "words":
        x = hashed_words(texts)
    else:
        x = hidden_states(texts, HIDDEN_MODELS[name], threads)
    ms = 1000 * (time.perf_counter() - start) / len(texts)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, x=x, ms=ms)
    return x, ms


# ----- the classifier -----------------------------------------------------------------------------


def fit_predict(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray) -> np.ndarray:
    """L2 logistic regression (strength chosen by 5-fold CV on the training rows only)."""
    if len(set(y_train.tolist())) < 2:
        return np.full(len(x_test), y_train[0] if len(y_train) else False)
    best, best_score = 1.0, -1.0
    folds = np.arange(len(y_train)) % 5
    for lam in (0.1, 1.0, 10.0, 100.0):
        hits = 0
        for f in range(5):
            tr, va = folds != f, folds == f
            w = _logistic(x_train[tr], y_train[tr], lam, x_train[tr])
            hits += int(np.sum((_apply(w, x_train[tr], x_train[va]) > 0) == y_train[va]))
        if hits > best_score:
            best, best_score = lam, hits
    w = _logistic(x_train, y_train, best, x_train)
    return _apply(w, x_train, x_test) > 0


def _standardize(reference: np.ndarray, x: np.ndarray) -> np.ndarray:
    mean, sd = reference.mean(axis=0), reference.std(axis=0) + 1e-6
    return np.hstack([(x - mean) / sd, np.ones((len(x), 1), dtype=np.float64)])


def _logistic(x: np.ndarray, y: np.ndarray, lam: float, reference: np.ndarray) -> np.ndarray:
    """Weights by Newton's method in the dual-sized form (rows << features)."""
    z = _standardize(reference, x).astype(np.float64)
    t = y.astype(np.float64)
    w = np.zeros(z.shape[1])
    for _ in range(25):
        p = 1 / (1 + np.exp(-np.clip(z @ w, -30, 30)))
        grad = z.T @ (p - t) + lam * w
        s = np.maximum(p * (1 - p), 1e-6)
        # (ZᵀSZ + λI)⁻¹ g via the n×n system: (1/λ)(g − Zᵀ(S⁻¹ + ZZᵀ/λ)⁻¹ Z g / λ)
        inner = np.diag(1 / s) + (z @ z.T) / lam
        step = (grad - z.T @ np.linalg.solve(inner, z @ grad) / lam) / lam
        w -= step
        if np.max(np.abs(step)) < 1e-6:
            break
    return w


def _apply(w: np.ndarray, reference: np.ndarray, x: np.ndarray) -> np.ndarray:
    return _standardize(reference, x) @ w


# ----- per task ------------------------------------------------------------------------------


def run_task(
    task: Task,
    backend: LlamaBackend,
    cache: ResultCache,
    rows: int,
    feats: list[str],
    threads: int | None,
) -> dict:
    frame = pl.read_csv(DATA / task.file)
    order = np.random.default_rng(11).permutation(frame.height)[: min(rows, frame.height)]
    sample = frame[order.tolist()]
    runner = RuleRunner(sample, task.rule, backend, cache, exclude=["gold"])
    start = time.perf_counter()
    result = evaluate(runner)
    judge_s = time.perf_counter() - start
    calibration = default_calibration(runner, result)
    answers = result.decide(calibration)[0] == 1.0  # the model's answers, never gold
    texts = records(sample, record_columns(sample.columns, [], exclude=["gold"]))
    test = np.arange(max(BUDGETS), len(sample)) if len(sample) > max(BUDGETS) + 50 else None
    out: dict = {
        "name": task.name,
        "rows": len(sample),
        "model_yes_rate": float(answers.mean()),
        "judge_rows_per_s": len(sample) / judge_s if judge_s > 0.5 else None,
        "features": {},
    }
    for name in feats:
        x, ms = features(name, task, texts, threads)
        per: dict = {"feature_ms_per_row": ms}
        for k in BUDGETS:
            held = test if test is not None else np.arange(k, len(sample))
            if k > len(sample) - 50:
                per[f"agreement_{k}"] = per[f"majority_{k}"] = None
                continue
            pred = fit_predict(x[:k], answers[:k], x[held])
            majority = answers[:k].mean() >= 0.5
            per[f"agreement_{k}"] = float(np.mean(pred == answers[held]))
            per[f"majority_{k}"] = float(np.mean(answers[held] == majority))
        out["features"][name] = per
        log.info("%s %s %s", task.name, name, per)
    return out


def summarize(tasks: list[dict], feats: list[str]) -> dict:
    """The best feature option by the median task's agreement at 400 rows, and the verdict."""

    def median_at(name: str, k: int) -> float | None:
        values = [t["features"][name][f"agreement_{k}"] for t in tasks]
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else None

    best = max(feats, key=lambda f: median_at(f, 400) or 0.0)
    rates = [t["judge_rows_per_s"] for t in tasks if t["judge_rows_per_s"]]
    rate = statistics.median(rates) if rates else None
    per_task = []
    for t in tasks:
        chosen = t["features"][best]
        per_task.append(
            {
                "name": t["name"],
                "feature": best,
                "feature_ms_per_row": chosen["feature_ms_per_row"],
                **{f"agreement_{k}": chosen[f"agreement_{k}"] for k in BUDGETS},
                **{f"majority_{k}": chosen[f"majority_{k}"] for k in BUDGETS},
                "model_yes_rate": t["model_yes_rate"],
                "by_feature": t["features"],
            }
        )
    median_400 = median_at(best, 400)
    return {
        "tasks": per_task,
        "feature": best,
        "median_agreement": {f: {k: median_at(f, k) for k in BUDGETS} for f in feats},
        "target": TARGET,
        "judge_rows_per_s": rate,
        "complete_10k_s": 400 / rate if rate else None,  # judge 400, then predict (ms)
        "model_only_10k_s": 10_000 / rate if rate else None,
        "shipped": bool(median_400 is not None and median_400 >= TARGET),
    }


def table(r: dict) -> str:
    feats = list(r["median_agreement"])
    head = "| task | model says yes | " + " | ".join(f"{f} @100 / 200 / 400" for f in feats)
    lines = [head + " | majority @400 |", "|---|---|" + "---|" * len(feats) + "---|"]

    def pct(v: float | None) -> str:
        return "—" if v is None else f"{100 * v:.0f}%"

    for t in r["tasks"]:
        cells = [
            " / ".join(pct(t["by_feature"][f][f"agreement_{k}"]) for k in BUDGETS) for f in feats
        ]
        lines.append(
            f"| {t['name']} | {pct(t['model_yes_rate'])} | "
            + " | ".join(cells)
            + f" | {pct(t['majority_400'])} |"
        )

    def median(f: str, k: int) -> float | None:
        by_k = r["median_agreement"][f]
        return by_k.get(k, by_k.get(str(k)))  # str keys once read back from JSON

    medians = [" / ".join(pct(median(f, k)) for k in BUDGETS) for f in feats]
    lines.append("| **median** | | " + " | ".join(medians) + " | |")
    cost = {
        f: statistics.median(t["by_feature"][f]["feature_ms_per_row"] for t in r["tasks"])
        for f in feats
    }
    lines.append(
        "| feature cost (ms/row, once) | | " + " | ".join(f"{cost[f]:.1f}" for f in feats) + " | |"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500)
    parser.add_argument("--tasks", default="")
    parser.add_argument("--features", default=",".join(FEATURES))
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    names = [t for t in args.tasks.split(",") if t] or None
    tasks = [t for t in load_tasks(names) if t.rule.kind is Kind.FLAG]
    if names:  # in the order given (e.g. short texts first)
        tasks.sort(key=lambda t: names.index(t.name))
    feats = [f for f in args.features.split(",") if f]
    backend = LlamaBackend(resolve_model(None), n_threads=args.threads)
    cache = ResultCache(default_cache_path())
    results: list[dict] = []
    try:
        for task in tasks:
            results.append(run_task(task, backend, cache, args.rows, feats, args.threads))
            partial = summarize(results, feats)  # written after each task
            partial["measured"] = f"{len(results)} of {len(tasks)} tasks"
            OUT.write_text(json.dumps(partial, indent=2))
    finally:
        backend.close()
        cache.close()
    summary = json.loads(OUT.read_text())
    logging.info("\n%s\nshipped: %s", table(summary), summary["shipped"])


if __name__ == "__main__":
    main()
