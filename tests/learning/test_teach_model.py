"""Teaching and long prompts with the real default model."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from fastsheet.data.errors import ModelError
from fastsheet.kinds.rules import Rule
from fastsheet.sheet.runner import RuleRunner, evaluate, taught_runner
from fastsheet.sheet.summary import gold_flags
from fastsheet.stats.metrics import auc


def test_taught_rule_decides_with_a_cross_fitted_threshold(backend, reviews: pl.DataFrame):
    gold = gold_flags(reviews["gold"])
    labels = np.full(len(gold), np.nan)
    labels[:6] = gold[:6]  # six labeled rows, the rest unknown
    runner = RuleRunner(reviews, Rule("The review is positive."), backend, exclude=["gold"])
    taught, lesson = taught_runner(runner, labels)
    assert lesson is not None and lesson.n_labels == 6
    assert len(taught.rule.examples) == 6
    assert lesson.calibration is not None and 0 < lesson.calibration.threshold < 1
    result = evaluate(taught)
    p = result.p_yes()
    assert auc(p[6:], gold[6:].astype(bool)) >= 0.9  # scored on the rows it was not taught
    decisions = p[6:] >= lesson.calibration.threshold
    assert np.mean(decisions == gold[6:].astype(bool)) >= 0.75


def test_many_long_prefixes_evict_each_other_instead_of_overflowing(backend):
    record = "review: " + "The food was fine but the service was slow and the room was loud. " * 9
    frame = pl.DataFrame({"review": [record, "review: Great!"]})
    answers = []
    for i in range(6):  # six taught rules of ~1,300 prefix tokens: more than half the context
        examples = tuple((record + f" ({i}-{k})", "Yes" if k % 2 else "No") for k in range(8))
        rule = Rule(f"The review is positive, version {i}.", examples=examples)
        answers += backend.judge(rule, [frame["review"][0], frame["review"][1]])
    assert len(answers) == 12 and all(0 <= a.p <= 1 for a in answers)


def test_a_prefix_longer_than_half_the_context_is_a_clear_error(backend):
    record = "word " * 500
    examples = tuple((record, "Yes") for _ in range(8))
    with pytest.raises(ModelError, match="too long"):
        backend.judge(Rule("The text is long.", examples=examples), ["short"])
