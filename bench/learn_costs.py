"""What learning costs: the state tap's rows/s and a learned column's re-decision time."""

from __future__ import annotations

import time

import numpy as np
import polars as pl

from bench.learn_states import (
    N_LAYERS,
    _layers,
    model_path,
)
from bench.tasks import DATA, load_tasks
from fastsheet.backends.llama_backend import LlamaBackend
from fastsheet.backends.state_store import KEPT_DIMS
from fastsheet.data.table import record_columns, records
from fastsheet.learning.learned import fit_input, learn
from fastsheet.stats.head import (
    Shape,
)


def tap_cost(model: str, rounds: int = 3, rows: int = 48) -> dict:
    """Rows/s judging reviews without the state tap, with the app's (one layer kept,
    projected: keep_states) and with the three layers this benchmark reads, alternately
    (medians)."""
    frame = pl.read_csv(DATA / "reviews.csv").sample(rows, seed=1)
    rule = load_tasks(["reviews"])[0].rule
    texts = records(frame, record_columns(frame.columns, rule.references(), ["gold"]), range(rows))
    rates: dict[str, list[float]] = {"plain": [], "kept": [], "tapped": []}
    three = _layers(N_LAYERS[model])
    for _ in range(rounds):
        for name, layers, keep in (
            ("plain", (), False),
            ("kept", (), True),
            ("tapped", three, False),
        ):
            backend = LlamaBackend(model_path(model), state_layers=layers, keep_states=keep)
            rates[name].append(rows_per_s(backend, rule, texts))
    medians = {k: float(np.median(v)) for k, v in rates.items()}
    return {
        "rows_per_s": rates,
        "medians": medians,
        "kept_ratio": medians["kept"] / medians["plain"],
        "ratio": medians["tapped"] / medians["plain"],
    }


def rows_per_s(backend: LlamaBackend, rule, texts: list[str]) -> float:
    """Rows/s judging `texts` in batches of 16 once the prefix is decoded; closes `backend`."""
    try:
        backend.judge(rule, texts[:2])  # the prefix, decoded once
        start = time.perf_counter()
        for i in range(0, len(texts), 16):
            backend.judge(rule, texts[i : i + 16])
        return len(texts) / (time.perf_counter() - start)
    finally:
        backend.close()


def redecide_cost(rows: int = 10_000, labels: int = 64, rounds: int = 5) -> dict:
    """Seconds to learn a column's labels again and re-decide every row from stored states
    (what a new mark costs a learned column: no model call), on the kept shape (512 dims,
    float16), medians of `rounds`: the fit (off the loop) and the re-decision (on it)."""
    rng = np.random.default_rng(0)
    truth = rng.random(rows) < 0.3
    states = rng.standard_normal((rows, KEPT_DIMS)).astype(np.float16)
    states[:, 0] += truth * 2
    p_yes = np.clip(0.5 + 0.1 * rng.standard_normal(rows), 0.01, 0.99)
    probs = np.stack([p_yes, 1 - p_yes], axis=1)
    has = np.ones(rows, dtype=bool)
    y = np.full(rows, np.nan)
    y[:labels] = truth[:labels]
    fits, decides = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        learned = learn(*fit_input(probs, states, has, y), Shape.FLAG)
        fits.append(time.perf_counter() - start)
        start = time.perf_counter()
        learned.probs(probs, states, has)  # type: ignore[union-attr]
        decides.append(time.perf_counter() - start)
    return {
        "rows": rows,
        "labels": labels,
        "fit_s": float(np.median(fits)),
        "redecide_s": float(np.median(decides)),
    }
