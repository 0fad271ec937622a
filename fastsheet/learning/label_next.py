"""Which rows to ask the user about next: where one more label would help the rule most.

For a rule that learns its labels (learned.py), a row is worth labelling when the current
decision is unsure of it (p near the threshold, or two labels nearly tied) and it is
unlike the rows already labelled (far from them in the model's reduced states), so the
user is not asked ten near-duplicates in a row: the head measured better from those rows
than from random ones. A rule taught by its labels is asked at random (`at_random`):
its threshold is fitted on the labels, and rows picked near it fitted it no better than
random ones on the default tier and worse on the Fast tier (bench/learn.py --orders).
"""

from __future__ import annotations

import numpy as np

POOL = 8  # consider this many times `count` of the most uncertain rows


def at_random(open_rows: np.ndarray, count: int, seed: int) -> list[int]:
    """Up to `count` of the rows where `open_rows` is True, in an order fixed by `seed`
    over the whole sheet (asking again gives the same next row; a row judged later takes
    its place in that order)."""
    order = np.random.default_rng(seed).permutation(len(open_rows))
    return [int(r) for r in order[open_rows[order]][:count]]


def uncertainty(probs: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """1 where the decision is a toss-up, 0 where it is sure. `probs`: p(yes) per row
    (a flag, decided at `threshold`), or one column per label."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim == 1:
        side = np.where(p >= threshold, 1 - threshold, threshold)
        return 1 - np.abs(p - threshold) / np.maximum(side, 1e-9)
    top2 = np.sort(p, axis=1)[:, -2:]
    return 1 - (top2[:, 1] - top2[:, 0])


def label_next(
    probs: np.ndarray,
    states: np.ndarray,
    labelled: np.ndarray,
    count: int = 10,
    threshold: float = 0.5,
) -> list[int]:
    """Up to `count` unlabelled rows, most useful first: unsure and spread out.

    `states` are the rows' reduced states (rows x k), `labelled` a bool mask; rows with
    no answer yet (NaN) are never asked."""
    unsure = uncertainty(probs, threshold)
    open_rows = np.flatnonzero(~labelled & ~np.isnan(unsure))
    if not len(open_rows):
        return []
    size = max(POOL * count, 32)
    if len(open_rows) > size:  # the most uncertain rows, ties included, then a sample
        cut = np.partition(unsure[open_rows], len(open_rows) - size)[len(open_rows) - size]
        open_rows = open_rows[unsure[open_rows] >= cut]
        if len(open_rows) > 4 * size:
            open_rows = np.sort(np.random.default_rng(0).choice(open_rows, 4 * size, replace=False))
    pool = open_rows
    z = np.asarray(states, dtype=np.float64)
    known = z[labelled]
    nearest = (
        _nearest(z[pool], known) if len(known) else np.full(len(pool), np.inf, dtype=np.float64)
    )
    chosen: list[int] = []
    for _ in range(min(count, len(pool))):
        finite = nearest[np.isfinite(nearest)]
        spread = nearest / finite.max() if len(finite) and finite.max() > 0 else 1.0
        score = unsure[pool] * np.where(np.isfinite(nearest), spread, 1.0)
        score[np.isin(pool, chosen)] = -np.inf
        pick = int(np.argmax(score))
        chosen.append(int(pool[pick]))
        nearest = np.minimum(nearest, np.linalg.norm(z[pool] - z[pool[pick]], axis=1))
    return chosen


def _nearest(points: np.ndarray, others: np.ndarray) -> np.ndarray:
    d2 = (points**2).sum(1)[:, None] - 2 * points @ others.T + (others**2).sum(1)[None, :]
    return np.sqrt(np.maximum(d2.min(axis=1), 0.0))
