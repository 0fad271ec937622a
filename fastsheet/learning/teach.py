"""Teach a rule from the user's labeled rows: examples in the prompt, a cross-fitted threshold.

With at least MIN_LABELS labels, up to MAX_EXAMPLES of them (classes in turn) become
earlier chat turns in the rule's shared prefix. The flag threshold is fitted on the labels
the prompt does not show, judged by that same prompt. When every label is shown (few
labels), it is cross-fitted instead: each fold is judged by a prompt whose examples come
from the other fold. Either way no row grades itself. With more labels than teaching rows
(a gold column), the threshold is fitted again on every labeled row but the examples,
once judged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from fastsheet.backends.framing import balanced_examples
from fastsheet.data.cells import Answer
from fastsheet.kinds import kind_of
from fastsheet.kinds.rules import Rule
from fastsheet.learning.labels import MAX_TEACHING_ROWS
from fastsheet.stats.calibrate import Calibration, Mode, from_gold

MIN_LABELS = 4
MAX_EXAMPLES = 8
#: labeled rows, not shown as examples, needed to fit the threshold on them instead
MIN_HELD_OUT = 64

Judge = Callable[[Rule, Sequence[str]], list[Answer]]


@dataclass(frozen=True)
class Lesson:
    """The taught rule, and its calibration (None: not enough labels to fit one)."""

    rule: Rule
    calibration: Calibration | None
    n_labels: int


def folds(answers: Sequence[object], k: int = 2) -> list[int]:
    """Fold of each label: classes dealt in turn, so each fold holds every class."""
    seen: dict[str, int] = {}
    out = []
    for a in answers:
        key = str(a)
        out.append(seen.get(key, 0) % k)
        seen[key] = seen.get(key, 0) + 1
    return out


def examples_for(rule: Rule, records: Sequence[str], answers: Sequence[object]) -> tuple:
    pairs = [(r, rule.answer_text(a)) for r, a in zip(records, answers, strict=True)]  # type: ignore[arg-type]
    return balanced_examples(pairs, MAX_EXAMPLES)


def teach(rule: Rule, records: Sequence[str], answers: Sequence[object], judge: Judge) -> Lesson:
    """The rule with examples from labeled rows, and a threshold fitted on them.

    `answers` are bools for a flag rule, label strings for a label rule. `judge`
    answers records under a given rule (through the cache)."""
    base = replace(rule, examples=())
    kind = kind_of(rule)
    if len(records) < MIN_LABELS or not kind.labelable:
        return Lesson(base, None, len(records))
    taught = replace(base, examples=examples_for(base, records, answers))
    if not kind.thresholded:
        return Lesson(taught, None, len(records))
    gold = np.asarray([bool(a) for a in answers])
    if gold.all() or not gold.any():
        return Lesson(taught, None, len(records))
    shown = {record for record, _ in taught.examples}
    held = [i for i, record in enumerate(records) if record not in shown]
    if len(held) >= MIN_LABELS and 0 < gold[held].sum() < len(held):
        # labels the prompt does not show, judged by that same prompt: no shift, no self-grading
        got = judge(taught, [records[i] for i in held])
        p_held = np.asarray([a.p if a.p is not None else np.nan for a in got])
        ok = ~np.isnan(p_held)
        threshold = from_gold(p_held[ok], gold[held][ok]).value
        return Lesson(taught, Calibration(Mode.GOLD, threshold), len(records))
    # every label is an example: cross-fit, each fold judged by a prompt showing the other
    fold = np.asarray(folds(answers))
    p = np.full(len(records), np.nan)
    for j in (0, 1):
        inside = np.flatnonzero(fold == j)
        outside = np.flatnonzero(fold != j)
        if not len(inside):
            continue
        teacher = replace(
            base,
            examples=examples_for(
                base, [records[i] for i in outside], [answers[i] for i in outside]
            ),
        )
        got = judge(teacher, [records[i] for i in inside])
        p[inside] = [a.p if a.p is not None else np.nan for a in got]
    ok = ~np.isnan(p)
    threshold = from_gold(p[ok], gold[ok]).value
    return Lesson(taught, Calibration(Mode.GOLD, threshold), len(records))


def held_out_rows(labels: np.ndarray, example_rows: Sequence[int]) -> np.ndarray | None:
    """The labeled rows the prompt does not show, when the labels outnumber the teaching
    rows and MIN_HELD_OUT of them, of both answers, remain (else None).

    Teaching rows that are not examples count: the taught prompt judges them too."""
    known = np.flatnonzero(~np.isnan(labels))
    if len(known) <= MAX_TEACHING_ROWS:
        return None
    held = np.setdiff1d(known, np.asarray(example_rows, dtype=np.int64))
    if len(held) < MIN_HELD_OUT or len(np.unique(labels[held])) < 2:
        return None
    return held


def held_out_calibration(p_yes: np.ndarray, labels: np.ndarray) -> Calibration | None:
    """The flag threshold fitted on judged held-out labeled rows (None: too few).

    Many labels give a steadier threshold than the cross-fit on the teaching rows; its
    flag rate stays within 2x of the labels' own."""
    ok = ~np.isnan(p_yes) & ~np.isnan(labels)
    if int(ok.sum()) < MIN_HELD_OUT:
        return None
    threshold = from_gold(p_yes[ok], labels[ok] == 1.0, within_rate=2.0)
    return Calibration(Mode.GOLD, threshold.value)
