"""Agreement metrics between decisions and gold labels (numpy, no per-row Python)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BinaryAgreement:
    tp: int
    fp: int
    tn: int
    fn: int

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.tn + self.fn

    @property
    def matches(self) -> int:
        return self.tp + self.tn

    @property
    def accuracy(self) -> float:
        return self.matches / self.n if self.n else float("nan")

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")

    @property
    def balanced_accuracy(self) -> float:
        pos, neg = self.tp + self.fn, self.tn + self.fp
        parts = [
            r
            for r in (self.tp / pos if pos else None, self.tn / neg if neg else None)
            if r is not None
        ]
        return sum(parts) / len(parts) if parts else float("nan")


def binary_agreement(decision: np.ndarray, gold: np.ndarray) -> BinaryAgreement:
    d, g = decision.astype(bool), gold.astype(bool)
    return BinaryAgreement(
        tp=int(np.sum(d & g)),
        fp=int(np.sum(d & ~g)),
        tn=int(np.sum(~d & ~g)),
        fn=int(np.sum(~d & g)),
    )


def auc(scores: np.ndarray, gold: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U, ties counted half)."""
    g = gold.astype(bool)
    n_pos, n_neg = int(g.sum()), int((~g).sum())
    if not n_pos or not n_neg:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype=float)
    sorted_scores = scores[order]
    # average ranks over ties
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    avg = first + (counts + 1) / 2.0
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[g].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def multiclass_balanced_accuracy(pred: np.ndarray, gold: np.ndarray) -> float:
    recalls = [float(np.mean(pred[gold == c] == c)) for c in np.unique(gold)]
    return float(np.mean(recalls)) if recalls else float("nan")


def multiclass_auc(probs: np.ndarray, gold_index: np.ndarray) -> float:
    """Mean one-vs-rest AUC over the classes present."""
    values = [
        auc(probs[:, k], gold_index == k)
        for k in range(probs.shape[1])
        if 0 < np.sum(gold_index == k) < len(gold_index)
    ]
    return float(np.mean(values)) if values else float("nan")


def wilson(k: int, n: int, population: int | None = None, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson interval for k of n, narrowed by the finite-population correction."""
    if n <= 0:
        return 0.0, 1.0
    if population and n >= population:
        p = k / n
        return p, p
    n_eff = n * (population - 1) / (population - n) if population and population > n else n
    p = k / n
    denom = 1 + z * z / n_eff
    centre = (p + z * z / (2 * n_eff)) / denom
    half = z * math.sqrt(p * (1 - p) / n_eff + z * z / (4 * n_eff * n_eff)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)
