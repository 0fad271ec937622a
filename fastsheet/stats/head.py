"""A per-rule head: the user's labels learned over the model's own reading of each row.

Each judged row carries the model's hidden state where it answered (llama_states.py).
`Reducer` projects the states of every row (labelled or not) onto their main directions;
`fit_head` fits a class-balanced, L2-regularised logistic head on the labelled rows over
those directions plus the model's own answer (its log-odds, or log-probabilities for a
label rule). It starts as the model's own decision (for a flag, at the column's
unlabelled threshold) and is pulled back to it (ANCHOR): with few labels, or few of a
rare answer, the head is the model's decision, and each label moves it further. `choose_head` picks the penalty by
cross-validation on the labels, and keeps the head only where it beats the answer alone.
Numpy only; a fit over 64 labels takes milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

import numpy as np

PENALTIES = (0.3, 1.0, 3.0, 10.0, 30.0)
#: how hard the answer's weights and the intercept are pulled back to the model's own
#: decision, in labels' worth (bench/learn.py: 3 against 0, flag mean at 32 labels +0.04
#: on the default tier)
ANCHOR = 3.0
_EPS = 1e-6


class Shape(Enum):
    """What a rule's head predicts: yes or no (a flag), one of several labels, or a
    point on a scale (scale_head.py)."""

    FLAG = "flag"
    CHOICE = "choice"
    SCALE = "scale"


@dataclass(frozen=True)
class Reducer:
    """The main directions of the rows' states, each scaled to unit variance."""

    mean: np.ndarray
    components: np.ndarray  # k x d
    scale: np.ndarray  # k

    @classmethod
    def fit(cls, states: np.ndarray, k: int) -> Reducer:
        x = np.asarray(states, dtype=np.float64)
        mean = x.mean(axis=0)
        centred = x - mean
        k = max(1, min(k, x.shape[0] - 1, x.shape[1]))
        if x.shape[0] > x.shape[1]:  # many rows: the d x d covariance is cheaper
            vectors = np.linalg.eigh(centred.T @ centred)[1]
            components = vectors[:, ::-1][:, :k].T
        else:
            components = np.linalg.svd(centred, full_matrices=False)[2][:k]
        scale = (centred @ components.T).std(axis=0) + _EPS
        return cls(mean, components, scale)

    def transform(self, states: np.ndarray) -> np.ndarray:
        return ((np.asarray(states, dtype=np.float64) - self.mean) @ self.components.T) / self.scale


def answer_features(probs: np.ndarray) -> np.ndarray:
    """The model's own answer as features: log-odds of yes (one candidate pair, a flag),
    or each candidate's log-probability (a label rule)."""
    p = np.clip(np.asarray(probs, dtype=np.float64), _EPS, 1 - _EPS)
    if p.ndim == 1 or p.shape[1] == 2:
        yes = p if p.ndim == 1 else p[:, 0]
        return np.log(yes / (1 - yes))[:, None]
    return np.log(p)


@dataclass(frozen=True)
class Head:
    """Logistic weights over [answer features, reduced states, 1], one column per class."""

    weights: np.ndarray  # (f + 1) x c
    n_answer: int  # how many leading features are the model's answer (not penalised)
    classes: np.ndarray  # the label values, in column order

    def proba(self, x: np.ndarray) -> np.ndarray:
        return _softmax(with_bias(x) @ self.weights)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.classes[np.argmax(self.proba(x), axis=1)]


def fit_head(
    x: np.ndarray,
    y: np.ndarray,
    penalty: float,
    n_answer: int,
    anchor: float | None = None,
    bias: float = 0.0,
) -> Head:
    """Class-balanced multinomial logistic regression (a flag is two classes), by Newton's
    method with a line search; the first class is the reference. `penalty` weighs the L2
    term on every feature past the answer's. The answer's weights and the intercept start
    as the model's own decision (a flag: yes where its log-odds + `bias` > 0, i.e. at the
    column's unlabelled threshold) and `anchor` (default ANCHOR) weighs their pull back
    to it, so a few labels, or labels of a rare answer, move it only so far."""
    classes, codes = np.unique(y, return_inverse=True)
    c = len(classes)
    xb = with_bias(x)
    n, f = xb.shape
    weight = n / (c * np.bincount(codes, minlength=c)[codes])  # each class counts alike
    target = np.eye(c)[codes][:, 1:]
    pull = ANCHOR if anchor is None else anchor
    reg = np.full(f, penalty)
    reg[:n_answer] = max(pull, 1e-2)
    reg[-1] = max(pull, 1e-4)  # the intercept
    start = _answer_start(f, classes, n_answer)
    if n_answer == 1 and c == 2:
        start[-1, 0] = bias
    w = start.copy()

    def loss(w: np.ndarray) -> float:
        z = np.hstack([np.zeros((n, 1)), xb @ w])
        top = z.max(axis=1, keepdims=True)
        lse = (top + np.log(np.exp(z - top).sum(axis=1, keepdims=True)))[:, 0]
        nll = -(weight * (z[np.arange(n), codes] - lse)).sum()
        return float(nll + 0.5 * (reg[:, None] * (w - start) ** 2).sum())

    current = loss(w)
    for _ in range(50):
        p = _softmax(np.hstack([np.zeros((n, 1)), xb @ w]))[:, 1:]
        grad = xb.T @ ((p - target) * weight[:, None]) + reg[:, None] * (w - start)
        hess = np.zeros((f * (c - 1), f * (c - 1)))
        for a in range(c - 1):
            for b in range(c - 1):
                s = weight * p[:, a] * ((a == b) - p[:, b])
                hess[a * f : (a + 1) * f, b * f : (b + 1) * f] = (xb.T * s) @ xb
        hess += np.diag(np.tile(reg, c - 1))
        step = np.linalg.solve(hess, grad.T.reshape(-1)).reshape(c - 1, f).T
        t, slope = 1.0, float((grad * step).sum())
        while t > 1e-6 and loss(w - t * step) > current - 1e-4 * t * slope:
            t /= 2
        w = w - t * step
        previous, current = current, loss(w)
        if previous - current < 1e-9 * max(1.0, abs(previous)):
            break
    return Head(np.hstack([np.zeros((f, 1)), w]), n_answer, classes)


def _answer_start(f: int, classes: np.ndarray, n_answer: int) -> np.ndarray:
    """Weights that reproduce the model's answer: its log-odds for a flag; for a label
    rule, each class's log-probability against the reference class's."""
    w = np.zeros((f, len(classes) - 1))
    if n_answer == 1 and len(classes) == 2:
        w[0, 0] = 1.0
    elif n_answer > 1:
        index = classes.astype(int)
        for j in range(1, len(classes)):
            if index[j] < n_answer and index[0] < n_answer:
                w[index[j], j - 1], w[index[0], j - 1] = 1.0, -1.0
    return w


def balanced_accuracy(pred: np.ndarray, y: np.ndarray) -> float:
    classes = np.unique(y)
    return float(np.mean([np.mean(pred[y == k] == k) for k in classes]))


def folds(y: np.ndarray, k: int = 5, seed: int = 0) -> np.ndarray:
    """A fold per label, classes dealt in turn (each fold holds every class it can)."""
    out = np.zeros(len(y), dtype=np.int64)
    rng = np.random.default_rng(seed)
    for value in np.unique(y):
        rows = np.flatnonzero(y == value)
        rng.shuffle(rows)
        out[rows] = np.arange(len(rows)) % k
    return out


@dataclass(frozen=True)
class Choice:
    """What a rule's labels say to use: the head (`penalty`) or the answer alone (None),
    with each one's cross-validated balanced accuracy on the labels (a scale head's:
    1 - its mean absolute error over the scale's span, scale_head.py)."""

    penalty: float | None
    head_score: float
    answer_score: float
    n_labels: int
    agreed: int = 0  # labels the chosen one got right, each predicted with it held out
    sigma: float = 1.0  # a scale head's held-out error, in steps (scale_head.py)


def cross_validated(
    x: np.ndarray,
    y: np.ndarray,
    n_answer: int,
    penalty: float | None,
    fold: np.ndarray,
    bias: float = 0.0,
) -> np.ndarray:
    """Held-out predictions per label; `penalty` None: the answer features alone."""
    cols = np.arange(n_answer) if penalty is None else np.arange(x.shape[1])
    pred = np.empty(len(y), dtype=y.dtype)
    for k in np.unique(fold):
        test = fold == k
        train = ~test
        if len(np.unique(y[train])) < 2:
            pred[test] = y[train][0]
            continue
        head = fit_head(x[train][:, cols], y[train], penalty or 1e6, n_answer, bias=bias)
        pred[test] = head.predict(x[test][:, cols])
    return pred


def choose_head(
    x: np.ndarray,
    y: np.ndarray,
    n_answer: int,
    penalties: Sequence[float] = PENALTIES,
    bias: float = 0.0,
) -> Choice:
    """Pick the penalty by cross-validation on the labels; keep the head only if it beats
    the model's answer alone (recalibrated on the same folds) on them."""
    counts = np.unique(y, return_counts=True)[1]
    k = int(min(5, counts.min())) if len(counts) > 1 else 1
    if k < 2:
        return Choice(None, 0.0, 0.0, len(y))
    fold = folds(y, k)
    answer_pred = cross_validated(x, y, n_answer, None, fold, bias)
    answer = balanced_accuracy(answer_pred, y)
    preds = [cross_validated(x, y, n_answer, c, fold, bias) for c in penalties]
    scores = [balanced_accuracy(pred, y) for pred in preds]
    best = int(np.argmax(scores))
    if scores[best] > answer:
        return Choice(penalties[best], scores[best], answer, len(y), int((preds[best] == y).sum()))
    return Choice(None, scores[best], answer, len(y), int((answer_pred == y).sum()))


def with_bias(x: np.ndarray) -> np.ndarray:
    """`x` with a column of ones (the intercept's feature)."""
    return np.hstack([x, np.ones((len(x), 1))])


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
