"""Decision thresholds for flag rules, and prior correction for label rules.

Small models rank rows well but lean hard towards one answer, so p(yes) > 0.5 is
a poor decision. Modes, measured in the benchmark:
- `content-free`: the threshold is p(yes) on records with no content (Zhao et al., 2021);
- `distribution`: Otsu's split of the rule's own logit(p) distribution;
- `mixture`: a two-component Gaussian mixture on logit(p) with a learned prior, so a
  rare positive class gets a threshold near its own bump, not the middle;
- `gold`: the threshold that maximises balanced accuracy against gold labels;
- `none`: 0.5.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np


class Mode(enum.Enum):
    NONE = "none"
    CONTENT_FREE = "content-free"
    DISTRIBUTION = "distribution"
    MIXTURE = "mixture"
    MANUAL = "manual"
    GOLD = "gold"
    LEARNED = "learned"  # the probabilities are a learned head's (learned.py), decided at 0.5


@dataclass(frozen=True)
class Threshold:
    value: float
    mode: Mode


_EPS = 1e-6


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p) - np.log1p(-p)


def content_free(p_content_free: Sequence[float]) -> Threshold:
    """Decide yes when p(yes) beats its value on empty records (mean in logit space)."""
    centre = float(np.mean(logit(np.asarray(p_content_free, dtype=float))))
    return Threshold(float(1 / (1 + np.exp(-centre))), Mode.CONTENT_FREE)


def distribution(p: np.ndarray, bins: int = 64) -> Threshold:
    """Otsu's threshold on logit(p): the split that best separates two groups."""
    x = logit(np.asarray(p, dtype=float))
    if len(x) < 2 or np.ptp(x) < 1e-9:
        return Threshold(0.5, Mode.DISTRIBUTION)
    hist, edges = np.histogram(x, bins=bins)
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(hist)
    w1 = w0[-1] - w0
    m0 = np.cumsum(hist * centres)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean0 = m0 / w0
        mean1 = (m0[-1] - m0) / w1
        between = w0 * w1 * (mean0 - mean1) ** 2
    between = np.nan_to_num(between[:-1], nan=-1.0)
    cut = edges[int(np.argmax(between)) + 1]
    return Threshold(float(1 / (1 + np.exp(-cut))), Mode.DISTRIBUTION)


MIN_MIXTURE_ROWS = 20


def mixture(p: np.ndarray, iterations: int = 200) -> Threshold:
    """Where a two-Gaussian mixture on logit(p) switches to the upper component.

    EM with a learned mixing weight; the threshold is the point between the two means
    where the upper component's posterior reaches one half."""
    x = logit(np.asarray(p, dtype=float))
    x = x[np.isfinite(x)]
    if len(x) < MIN_MIXTURE_ROWS or np.ptp(x) < 1e-6:
        return Threshold(0.5, Mode.MIXTURE)
    mean = np.percentile(x, [25.0, 75.0]).astype(float)
    var = np.full(2, max(float(np.var(x)) / 4, 1e-3))
    weight = np.array([0.5, 0.5])
    floor = max(float(np.var(x)) * 1e-3, 1e-4)
    # EM over the distinct scores, each weighted by its count: the same fit, and rows
    # with the same record (same score) cost nothing (10,000 fraud rows: a few dozen)
    values, counts = np.unique(x, return_counts=True)
    u, c = values[:, None], counts[:, None].astype(float)
    for _ in range(iterations):
        dens = weight * _normal(u, mean, var)
        resp = c * dens / np.clip(dens.sum(axis=1, keepdims=True), 1e-300, None)
        nk = resp.sum(axis=0) + 1e-9
        new_mean = (resp * u).sum(axis=0) / nk
        var = np.maximum((resp * (u - new_mean) ** 2).sum(axis=0) / nk, floor)
        weight = nk / nk.sum()
        converged = np.allclose(new_mean, mean, atol=1e-6)
        mean = new_mean
        if converged:
            break
    lo, hi = (0, 1) if mean[0] <= mean[1] else (1, 0)
    if mean[hi] - mean[lo] < 1e-6:
        return Threshold(0.5, Mode.MIXTURE)
    grid = np.linspace(mean[lo], mean[hi], 512)
    dens_lo = weight[lo] * _normal(grid, mean[lo], var[lo])
    dens_hi = weight[hi] * _normal(grid, mean[hi], var[hi])
    above = np.flatnonzero(dens_hi >= dens_lo)
    cut = float(grid[above[0]]) if len(above) else float(mean[hi])
    return Threshold(float(1 / (1 + np.exp(-cut))), Mode.MIXTURE)


def _normal(x: np.ndarray, mean: np.ndarray | float, var: np.ndarray | float) -> np.ndarray:
    return np.exp(-((x - mean) ** 2) / (2 * var)) / np.sqrt(2 * np.pi * var)


def from_gold(p: np.ndarray, gold: np.ndarray, within_rate: float | None = None) -> Threshold:
    """The threshold with the best balanced accuracy on the gold labels (ties: accuracy).

    With `within_rate` (e.g. 2), only thresholds that flag between 1/within_rate and
    within_rate times the labels' own yes rate compete, when any do: with rare
    positives the best balanced accuracy alone flags several times too many rows."""
    p = np.asarray(p, dtype=float)
    gold = np.asarray(gold, dtype=bool)
    if len(p) == 0 or gold.all() or not gold.any():
        return Threshold(0.5, Mode.GOLD)
    order = np.argsort(-p, kind="mergesort")
    ps, gs = p[order], gold[order]
    n_pos, n_neg = int(gs.sum()), int((~gs).sum())
    # cut after k rows (k = 0..n): the top k rows are flagged
    tp = np.concatenate(([0], np.cumsum(gs)))
    fp = np.concatenate(([0], np.cumsum(~gs)))
    last = np.concatenate((np.flatnonzero(np.diff(ps) != 0), [len(ps) - 1])) + 1  # tie-safe cuts
    cuts = np.concatenate(([0], last))
    if within_rate:
        rate, k = n_pos / len(ps), cuts / len(ps)
        fits = cuts[(k >= rate / within_rate) & (k <= rate * within_rate)]
        cuts = fits if len(fits) else cuts
    balanced = (tp[cuts] / n_pos + (n_neg - fp[cuts]) / n_neg) / 2
    accuracy = (tp[cuts] + n_neg - fp[cuts]) / len(ps)
    best = cuts[np.lexsort((accuracy, balanced))[-1]]
    if best == 0:
        return Threshold(float(ps[0] + _EPS), Mode.GOLD)
    if best == len(ps):
        return Threshold(float(ps[-1] - _EPS), Mode.GOLD)
    return Threshold(float((ps[best - 1] + ps[best]) / 2), Mode.GOLD)


@dataclass(frozen=True)
class Calibration:
    """How a column's candidate probabilities become answers."""

    mode: Mode = Mode.NONE
    threshold: float = 0.5  # flag: decide yes when p(yes) >= threshold
    weights: tuple[float, ...] | None = None  # label: prior correction, if any


def calibrate_flag(
    mode: Mode,
    p_yes: np.ndarray | None = None,
    gold: np.ndarray | None = None,
    content_free_p: Sequence[float] = (),
) -> Calibration:
    if mode is Mode.GOLD and gold is not None and p_yes is not None:
        return Calibration(Mode.GOLD, from_gold(p_yes, gold).value)
    if mode is Mode.DISTRIBUTION and p_yes is not None and len(p_yes) >= 2:
        return Calibration(Mode.DISTRIBUTION, distribution(p_yes).value)
    if mode is Mode.MIXTURE and p_yes is not None and len(p_yes) >= MIN_MIXTURE_ROWS:
        return Calibration(Mode.MIXTURE, mixture(p_yes).value)
    if mode is Mode.CONTENT_FREE and len(content_free_p):
        return Calibration(Mode.CONTENT_FREE, content_free(content_free_p).value)
    return Calibration()


MIXTURE_SAMPLE = 4000


def unlabeled_flag(p_done: np.ndarray, content_free_cal: Calibration | None) -> Calibration:
    """The threshold with no labels: measured on the dev suite (README, "Accuracy").

    A mixture fitted to the rule's own scores once enough rows are done (a seeded sample
    of at most MIXTURE_SAMPLE of them); before that, content-free, else 0.5."""
    p = np.asarray(p_done, dtype=float)
    if len(p) >= MIN_MIXTURE_ROWS:
        if len(p) > MIXTURE_SAMPLE:
            p = np.random.default_rng(0).choice(p, MIXTURE_SAMPLE, replace=False)
        return calibrate_flag(Mode.MIXTURE, p_yes=p)
    return content_free_cal or Calibration()


def calibrate_label(mode: Mode, content_free_probs: np.ndarray | None = None) -> Calibration:
    if mode is Mode.CONTENT_FREE and content_free_probs is not None and len(content_free_probs):
        mean = np.asarray(content_free_probs, dtype=float).mean(axis=0)
        weights = 1.0 / np.clip(mean / mean.sum(), _EPS, None)
        return Calibration(Mode.CONTENT_FREE, weights=tuple(float(w) for w in weights))
    return Calibration()


def choose(
    flag: bool,
    manual: Calibration | None,
    lesson: Calibration | None,
    held_out: Callable[[], Calibration | None],
    unlabeled: Callable[[], Calibration],
    content_free_cal: Callable[[], Calibration | None],
) -> Calibration:
    """The one calibration policy, for the engine and the CLI alike.

    A flag threshold the user set; else, for a taught rule, the fit on its labeled rows
    beyond the examples (`held_out`, when there are enough), else the lesson's; else for
    a flag the unlabeled fit; else content-free; else none. The fits are callables, so
    only the one used is computed."""
    if flag and manual is not None:
        return manual
    if lesson is not None:
        return held_out() or lesson
    if flag:
        return unlabeled()
    return content_free_cal() or Calibration()
