"""The offline threshold comparison (bench.thresholds) on synthetic scores."""

from __future__ import annotations

import numpy as np

from bench.thresholds import compare, top_component_cut


def _scores(rng: np.random.Generator, centres: list[float], n: int) -> np.ndarray:
    x = np.concatenate([rng.normal(c, 0.3, n) for c in centres])
    return 1 / (1 + np.exp(-x))


def test_the_top_component_cut_falls_between_the_two_highest_clusters() -> None:
    p = _scores(np.random.default_rng(0), [-4.0, 0.0, 4.0], 60)
    cut = np.log(top_component_cut(p) / (1 - top_component_cut(p)))
    assert 0.5 < cut < 3.5


def test_compare_scores_every_policy_on_every_flag_task() -> None:
    rng = np.random.default_rng(1)
    gold = np.r_[np.zeros(80, bool), np.ones(20, bool)]
    p = np.where(gold, rng.uniform(0.7, 0.95, 100), rng.uniform(0.05, 0.4, 100))
    results = {
        "models": {
            "m": {
                "question": {
                    "tasks": {
                        "easy": {
                            "p_yes": p.tolist(),
                            "gold": gold.tolist(),
                            "content_free_p": [0.5],
                        },
                        "labels": {"none": {"balanced_accuracy": 0.5}},
                    }
                }
            }
        }
    }
    text = compare(results)
    assert "m, framing question" in text
    mixture_line = next(line for line in text.splitlines() if "mixture (the app's)" in line)
    assert "mean 1.000" in mixture_line and "easy 1.0x" in mixture_line
    assert "labels" not in text
