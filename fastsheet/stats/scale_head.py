"""A score rule's head: the user's scores learned as a regression over the model's reading.

A score rule's answer is a point on a scale. The head predicts it as a number, from the
model's own expected score (in scale steps from the bottom) and the reduced states, by
ridge regression anchored to the model's answer: it starts as that answer and is pulled
back to it (head.ANCHOR), so a few labels move it only so far. Its probabilities over
the scale's points are a normal around the prediction, as wide as its held-out error,
so the column's expected value, top probability and uncertainty read as before.
`choose_scale_head` picks the penalty by cross-validation on the labels and keeps the
states only where they beat the answer alone (rescaled on the same folds).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from fastsheet.stats.head import ANCHOR, PENALTIES, Choice, with_bias

#: the narrowest a head's spread is taken to be, in scale steps (a perfect held-out fit
#: on a few labels is luck, not certainty)
MIN_SIGMA = 0.35
_erf = np.frompyfunc(math.erf, 1, 1)


def expected_step(probs: np.ndarray) -> np.ndarray:
    """The model's expected score in steps from the scale's bottom (0 .. points - 1)."""
    p = np.asarray(probs, dtype=np.float64)
    return p @ np.arange(p.shape[1], dtype=np.float64)


@dataclass(frozen=True)
class ScaleHead:
    """Ridge weights over [answer features, reduced states, 1], predicting the step."""

    weights: np.ndarray  # f + 1
    points: int  # the scale's points
    sigma: float  # the spread of the probabilities, in steps
    centre: np.ndarray  # subtracted from the features first (the answer's mean, else 0)

    def mean(self, x: np.ndarray) -> np.ndarray:
        return with_bias(np.asarray(x, dtype=np.float64) - self.centre) @ self.weights

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.clip(np.floor(self.mean(x) + 0.5), 0, self.points - 1)

    def proba(self, x: np.ndarray) -> np.ndarray:
        """Each point's probability: a normal around the prediction, cut at the midpoints
        between points (the ends take the tails)."""
        edges = np.arange(self.points + 1, dtype=np.float64) - 0.5
        z = (edges[None, :] - self.mean(x)[:, None]) / (self.sigma * math.sqrt(2))
        cdf = 0.5 * (1 + _erf(z).astype(np.float64))
        cdf[:, 0], cdf[:, -1] = 0.0, 1.0
        return np.diff(cdf, axis=1)


def fit_scale_head(
    x: np.ndarray,
    y: np.ndarray,
    penalty: float,
    n_answer: int,
    points: int,
    sigma: float = 1.0,
    anchor: float | None = None,
) -> ScaleHead:
    """Ridge regression of the step `y` on `x`. It starts as the model's answer: the first
    answer feature (the expected step), centred on its mean, with weight 1, and that mean
    as the intercept; `anchor` (default ANCHOR) weighs the answer's weights' and the
    intercept's pull back to that start, `penalty` the L2 term on every feature past the
    answer's. Centred, a poor answer's weight can fall without moving the level."""
    x = np.asarray(x, dtype=np.float64)
    centre = np.zeros(x.shape[1])
    if n_answer:
        centre[0] = x[:, 0].mean()
    xb = with_bias(x - centre)
    f = xb.shape[1]
    pull = max(ANCHOR if anchor is None else anchor, 1e-4)
    reg = np.full(f, float(penalty))
    reg[:n_answer] = pull
    reg[-1] = pull
    start = np.zeros(f)
    if n_answer:
        start[0], start[-1] = 1.0, centre[0]
    w = np.linalg.solve(xb.T @ xb + np.diag(reg), xb.T @ y + reg * start)
    return ScaleHead(w, points, max(float(sigma), MIN_SIGMA), centre)


def cross_validated_steps(
    x: np.ndarray, y: np.ndarray, n_answer: int, penalty: float | None, fold: np.ndarray
) -> np.ndarray:
    """Held-out predicted steps per label (unrounded); `penalty` None: the answer alone."""
    cols = np.arange(n_answer) if penalty is None else np.arange(x.shape[1])
    out = np.empty(len(y))
    for k in np.unique(fold):
        test = fold == k
        head = fit_scale_head(x[~test][:, cols], y[~test], penalty or 1e6, n_answer, 2)
        out[test] = head.mean(x[test][:, cols])
    return out


def choose_scale_head(
    x: np.ndarray,
    y: np.ndarray,
    n_answer: int,
    points: int,
    penalties: Sequence[float] = PENALTIES,
) -> Choice:
    """Pick the penalty by cross-validation (mean absolute error on the labels); keep the
    states only if they beat the answer alone. The scores are 1 - that error over the
    scale's span; `sigma` is the chosen one's held-out root mean square error."""
    k = int(min(5, len(y) // 2))
    if k < 2:
        return Choice(None, 0.0, 0.0, len(y))
    fold = scale_folds(y, k)
    span = max(points - 1, 1)

    def closeness(pred: np.ndarray) -> float:
        return 1 - float(np.mean(np.abs(np.clip(pred, 0, span) - y))) / span

    answer_pred = cross_validated_steps(x, y, n_answer, None, fold)
    answer = closeness(answer_pred)
    preds = [cross_validated_steps(x, y, n_answer, c, fold) for c in penalties]
    scores = [closeness(pred) for pred in preds]
    best = int(np.argmax(scores))
    penalty, pred = (penalties[best], preds[best]) if scores[best] > answer else (None, answer_pred)
    steps = np.clip(np.floor(pred + 0.5), 0, span)
    sigma = float(np.sqrt(np.mean((np.clip(pred, 0, span) - y) ** 2)))
    return Choice(penalty, scores[best], answer, len(y), int(np.count_nonzero(steps == y)), sigma)


def scale_folds(y: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """A fold per label, dealt in turn down the labels sorted by score (ties in a seeded
    order): every fold spans the scale, and none is empty while k <= labels."""
    shuffled = np.random.default_rng(seed).permutation(len(y))
    order = shuffled[np.argsort(y[shuffled], kind="stable")]
    out = np.empty(len(y), dtype=np.int64)
    out[order] = np.arange(len(y)) % k
    return out
