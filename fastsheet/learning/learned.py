"""A rule's labels learned: the head (head.py) fitted on a column's kept states.

Only where the user asks for it (`Rule.learn`). It is off by default: over the whole
suite the head did not beat today's teaching by the 0.05 of balanced accuracy it had to
at 64 labels, on either tier (bench/learn.py). From LEARN_FROM labels such a flag, label
or score rule is judged by its plain prompt, each row's state kept (state_store.py), and
its labels are learned instead of shown as examples: `learn` fits the head on the
labelled rows, keeping it only where cross-validation on them says it beats the model's
answer alone (recalibrated on the same labels). Either way the result replaces the
column's probabilities, so a new label re-decides every judged row from the stored
states with no model call. Below LEARN_FROM, today's teaching (examples in the prompt
and a fitted threshold) measured better.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fastsheet.kinds import kind_of
from fastsheet.kinds.rules import Rule
from fastsheet.stats.calibrate import unlabeled_flag
from fastsheet.stats.head import (
    Choice,
    Head,
    Reducer,
    Shape,
    answer_features,
    choose_head,
    fit_head,
)
from fastsheet.stats.scale_head import ScaleHead, choose_scale_head, expected_step, fit_scale_head

#: labels from which a rule is learned rather than taught by examples (bench/learn.json)
LEARN_FROM = 32
#: the states' main directions the head reads (bench/learn.py: three quarters / 32, over
#: 240 rows); a small sheet gets fewer, one per 8 judged rows (on 96 emails, 12 dims chose
#: the head in 10 draws of 10, 32 in 7)
DIMS = 32
MIN_DIMS = 4
#: rows the reducer is fitted on, at most (a seeded sample of the judged ones)
REDUCER_ROWS = 3000
#: labelled rows a head is fitted on, at most (a seeded sample of a whole gold column)
MAX_FIT_LABELS = 4000


@dataclass(frozen=True)
class Learned:
    """A fitted head over [the model's answer, the reduced state], or over the answer alone."""

    reducer: Reducer
    head: Head | ScaleHead
    choice: Choice
    shape: Shape

    @property
    def learned(self) -> bool:
        """True where the head reads the states; False: the answer alone, recalibrated."""
        return self.choice.penalty is not None

    def features(self, probs: np.ndarray, states: np.ndarray) -> np.ndarray:
        answer = answers_as_features(probs, self.shape)
        if not self.learned:
            return answer
        return np.hstack([answer, self.reducer.transform(states)])

    def probs(
        self, probs: np.ndarray, states: np.ndarray | None, has: np.ndarray | None
    ) -> np.ndarray:
        """Each row's candidate probabilities as the head gives them; rows without an
        answer stay NaN, and rows without a state (`has` False, where one is needed)
        keep the model's."""
        out = np.array(probs, dtype=np.float64, copy=True)
        ok = ~np.isnan(out).any(axis=1)
        if self.learned:
            ok &= learnable_rows(out, has)
        if not np.any(ok):
            return out
        rows = np.flatnonzero(ok)
        kept = states[rows] if states is not None else np.zeros((len(rows), 0))
        x = self.features(out[rows], np.asarray(kept, dtype=np.float32))
        p = self.head.proba(x)
        if isinstance(self.head, ScaleHead):
            out[rows] = p
            return out
        classes = list(self.head.classes)
        if self.shape is Shape.FLAG:
            yes = p[:, classes.index(1.0)] if 1.0 in classes else np.zeros(len(rows))
            rest = out[rows, 1:]
            share = rest / np.maximum(rest.sum(axis=1, keepdims=True), 1e-12)
            out[rows, 0] = yes
            out[rows, 1:] = share * (1 - yes)[:, None]
        else:
            full = np.zeros((len(rows), out.shape[1]))
            full[:, self.head.classes.astype(int)] = p
            out[rows] = full
        return out

    def agreement(self) -> tuple[int, int, float]:
        """Labels the rule got right when each was held out, of all, and that as a share."""
        n = self.choice.n_labels
        return self.choice.agreed, n, self.choice.agreed / n if n else 0.0


def learns(rule: Rule, keep_states: bool, labels: np.ndarray | None) -> bool:
    """Whether a rule with these labels (NaN: unknown) is learned rather than taught by
    examples: the user asked it to learn (`Rule.learn`), a flag, label or score rule, a
    backend that keeps states, and LEARN_FROM labels of at least two answers (labels of
    one answer only teach by examples, as before)."""
    if not rule.learn or labels is None or not keep_states or not kind_of(rule).labelable:
        return False
    known = labels[~np.isnan(labels)]
    return len(known) >= LEARN_FROM and len(np.unique(known)) >= 2


def learnable_rows(probs: np.ndarray, has: np.ndarray | None) -> np.ndarray:
    """Rows with an answer and a kept state (`has`: which rows keep one)."""
    if has is None:
        return np.zeros(len(probs), dtype=bool)
    return has & ~np.isnan(probs).any(axis=1)


def fit_input(
    probs: np.ndarray, states: np.ndarray, has: np.ndarray, labels: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What a fit reads, copied: the labelled rows with states, and a seeded sample of
    REDUCER_ROWS judged rows for the reducer (probabilities, states, labels, in row order).
    A column of a million rows copies a few thousand."""
    rows = np.flatnonzero(learnable_rows(probs, has))
    labelled = rows[~np.isnan(labels[rows])]
    if len(labelled) > MAX_FIT_LABELS:  # a whole gold column: a seeded sample of it
        labelled = np.random.default_rng(1).choice(labelled, MAX_FIT_LABELS, replace=False)
    if len(rows) > REDUCER_ROWS:
        sample = np.random.default_rng(0).choice(rows, REDUCER_ROWS, replace=False)
        rows = np.union1d(sample, labelled)
        labels = labels.copy()
        labels[np.setdiff1d(rows, labelled)] = np.nan  # the sample's own labels unused
    return probs[rows].copy(), np.asarray(states[rows], dtype=np.float32), labels[rows].copy()


def dims_for(rows: int) -> int:
    """How many main directions a head reads, with this many judged rows."""
    return int(np.clip(rows // 8, MIN_DIMS, DIMS))


def reducer_for(states: np.ndarray, rows: np.ndarray, dims: int | None = None) -> Reducer:
    """The main directions of the states of `rows` (a seeded sample of REDUCER_ROWS)."""
    dims = dims or dims_for(len(rows))
    if len(rows) > REDUCER_ROWS:
        rows = np.sort(np.random.default_rng(0).choice(rows, REDUCER_ROWS, replace=False))
    return Reducer.fit(np.asarray(states[rows], dtype=np.float32), dims)


def answers_as_features(probs: np.ndarray, shape: Shape) -> np.ndarray:
    """The model's own answer as a head reads it: a flag's log-odds, a label rule's
    log-probabilities, a score's expected step."""
    if shape is Shape.SCALE:
        return expected_step(probs)[:, None]
    return answer_features(probs[:, 0] if shape is Shape.FLAG else probs)


def learn(
    probs: np.ndarray, states: np.ndarray, labels: np.ndarray, shape: Shape | None
) -> Learned | None:
    """The head for these labels (NaN: unlabelled) over rows that each have an answer and
    a state (fit_input); None when fewer than two answers are labelled, or for a kind
    that learns none (`shape` None)."""
    rows = np.flatnonzero(~np.isnan(labels))
    if shape is None or len(rows) < 2 or len(np.unique(labels[rows])) < 2:
        return None
    reducer = reducer_for(states, np.arange(len(states)))
    answer = answers_as_features(probs[rows], shape)
    x = np.hstack([answer, reducer.transform(np.asarray(states[rows], dtype=np.float32))])
    y = labels[rows]
    n_answer = answer.shape[1]
    head: Head | ScaleHead
    if shape is Shape.SCALE:
        points = probs.shape[1]
        choice = choose_scale_head(x, y, n_answer, points)
        cols = slice(None) if choice.penalty is not None else slice(0, n_answer)
        penalty = choice.penalty or 1.0
        head = fit_scale_head(x[:, cols], y, penalty, n_answer, points, choice.sigma)
        return Learned(reducer, head, choice, shape)
    bias = own_bias(probs[:, 0]) if shape is Shape.FLAG else 0.0
    choice = choose_head(x, y, n_answer, bias=bias)
    cols = slice(None) if choice.penalty is not None else slice(0, n_answer)
    head = fit_head(x[:, cols], y, choice.penalty or 1.0, n_answer, bias=bias)
    return Learned(reducer, head, choice, shape)


def own_bias(p_yes: np.ndarray) -> float:
    """A flag's own decision without labels, as an offset on the model's log-odds: minus
    the log-odds of the unlabelled threshold over these judged rows. The head starts
    from it (head.fit_head), so a few labels of a rare answer cannot swing it far."""
    p = p_yes[~np.isnan(p_yes)]
    if len(p) < 2:
        return 0.0
    cut = float(np.clip(unlabeled_flag(p, None).threshold, 1e-6, 1 - 1e-6))
    return -float(np.log(cut / (1 - cut)))
