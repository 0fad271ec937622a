"""bench.learn's bookkeeping: a run over some tasks merges into the last run's figures."""

from __future__ import annotations

import numpy as np

from bench.learn import merged
from bench.learn_tables import orders_table
from bench.learn_teaching import teaching_orders


def _picks(sixteen: list[int], thirty_two: list[int]) -> dict:
    return {"c": {"next": {"16": {"picked": sixteen}, "32": {"picked": thirty_two}}}}


def test_a_partial_run_keeps_the_other_tasks_and_their_teaching_in_suite_order() -> None:
    previous = {
        "scored": 80,
        "pool": 160,
        "tasks": {
            "reviews": {
                "zero_shot": 0.9,
                "configs": _picks([1, 2], [1, 2, 3]),
                "teaching": {"next": {"16": 0.8, "32": 0.7}},
                "as_taught": {"32": {"head": 0.9}},
                "orders": {"random": {"16": 0.5}, "next": {"16": 0.6}},
            },
            "boolq": {"zero_shot": 0.6},
        },
    }
    # label next picked the same 16 labels again, but other ones at 32 (its head changed)
    again = {"zero_shot": 0.95, "configs": _picks([1, 2], [1, 2, 4])}
    results = {"reviews": again, "intents": {"zero_shot": 0.4}}
    out = merged(previous, results, 80, 160)
    assert list(out) == ["reviews", "boolq", "intents"]  # tasks.json's order
    assert out["reviews"]["teaching"] == {"next": {"16": 0.8}}  # only where the labels match
    assert "as_taught" not in out["reviews"]  # its examples came from other labels
    assert "orders" not in out["reviews"]
    assert out["boolq"] == {"zero_shot": 0.6}


def test_a_run_on_other_sample_sizes_starts_afresh() -> None:
    previous = {"scored": 40, "pool": 80, "tasks": {"boolq": {"zero_shot": 0.6}}}
    assert merged(previous, {"reviews": {"zero_shot": 0.9}}, 80, 160) == {
        "reviews": {"zero_shot": 0.9}
    }
    assert merged(None, {"reviews": {"zero_shot": 0.9}}, 80, 160) == {"reviews": {"zero_shot": 0.9}}


def test_a_taught_rule_s_orders_score_its_threshold_on_the_scored_rows() -> None:
    """Separable answers (yes at p >= 0.6, no at p <= 0.4): a threshold fitted on any of
    the labels, or without them, decides every scored row right, in either order; with the
    scored rows' answers turned over it decides every one wrong (they are never labels)."""
    rng = np.random.default_rng(0)
    n, pool = 80, 400
    gold = (rng.uniform(size=n + pool) < 0.3).astype(float)
    p = np.where(gold == 1.0, rng.uniform(0.6, 0.9, n + pool), rng.uniform(0.1, 0.4, n + pool))
    states = np.hstack([p[:, None], rng.standard_normal((n + pool, 7))]).astype(np.float16)
    taught = {"probs": np.stack([p, 1 - p], axis=1), "states": states, "examples": np.arange(4)}
    out = teaching_orders({"scored": np.asarray(n), "gold": gold}, taught, draws=2)
    assert out == {s: {"16": 1.0, "32": 1.0, "64": 1.0} for s in ("random", "next")}
    turned = gold.copy()
    turned[:n] = 1.0 - turned[:n]
    out = teaching_orders({"scored": np.asarray(n), "gold": turned}, taught, draws=2)
    assert out == {s: {"16": 0.0, "32": 0.0, "64": 0.0} for s in ("random", "next")}
    table = "\n".join(orders_table({"reviews": {"orders": out}}))
    assert "| reviews | 0.00 / 0.00 | 0.00 / 0.00 | 0.00 / 0.00 |" in table
    assert "| **worst task** (1 tasks) |" in table
