"""Teaching a rule from labels: examples, folds and the cross-fitted threshold (fake judge)."""

from __future__ import annotations

from fastsheet.data.cells import Answer
from fastsheet.kinds.rules import Kind, Rule
from fastsheet.learning.teach import MAX_EXAMPLES, folds, teach
from fastsheet.stats.calibrate import Mode


def test_folds_deal_each_class_in_turn():
    assert folds([True, True, False, False, True, False]) == [0, 1, 0, 1, 0, 0]
    assert folds(["a", "b", "a", "b"]) == [0, 0, 1, 1]


def test_too_few_labels_teach_nothing():
    lesson = teach(Rule("x"), ["a", "b"], [True, False], lambda r, t: [])
    assert lesson.rule.examples == () and lesson.calibration is None


def test_held_out_labels_are_judged_by_the_taught_prompt_itself():
    records = [f"pos{i}" for i in range(8)] + [f"neg{i}" for i in range(8)]
    answers = [True] * 8 + [False] * 8
    seen: list[tuple[tuple, list[str]]] = []

    def judge(rule: Rule, texts):
        seen.append((rule.examples, list(texts)))
        return [Answer(None, 0.3 if t.startswith("pos") else 0.1, (0.0, 0.0)) for t in texts]

    lesson = teach(Rule("Flag if positive"), records, answers, judge)
    assert len(seen) == 1
    examples, judged = seen[0]
    assert examples == lesson.rule.examples  # the very prompt the column will use
    assert len(judged) == 8 and not {r for r, _ in examples} & set(judged)
    assert 0.1 < lesson.calibration.threshold < 0.3


def test_with_every_label_shown_the_threshold_is_cross_fitted():
    records = [f"pos{i}" for i in range(4)] + [f"neg{i}" for i in range(4)]
    answers = [True] * 4 + [False] * 4
    seen: list[tuple[set[str], list[str]]] = []

    def judge(rule: Rule, texts):
        seen.append(({r for r, _ in rule.examples}, list(texts)))
        # a biased model: says "no" to everything, but ranks the positives higher
        return [Answer(None, 0.3 if t.startswith("pos") else 0.1, (0.0, 0.0)) for t in texts]

    lesson = teach(Rule("Flag if positive"), records, answers, judge)
    assert len(seen) == 2
    for example_records, judged in seen:
        assert not example_records & set(judged)  # cross-fit: never in its own prompt
    assert sorted(t for _, texts in seen for t in texts) == sorted(records)
    assert lesson.calibration is not None and lesson.calibration.mode is Mode.GOLD
    assert 0.1 < lesson.calibration.threshold < 0.3
    assert len(lesson.rule.examples) == MAX_EXAMPLES
    assert {a for _, a in lesson.rule.examples} == {"Yes", "No"}
    assert lesson.n_labels == 8


def test_label_rules_get_examples_but_no_threshold():
    rule = Rule("Topic?", kind=Kind.LABEL, labels=("a", "b"))
    lesson = teach(rule, ["1", "2", "3", "4"], ["a", "b", "a", "b"], lambda r, t: [])
    assert [a for _, a in lesson.rule.examples] == ["a", "b", "a", "b"]
    assert lesson.calibration is None


def test_one_class_labels_give_examples_but_keep_the_unlabeled_threshold():
    lesson = teach(Rule("x"), list("abcd"), [True] * 4, lambda r, t: [])
    assert len(lesson.rule.examples) == 4 and lesson.calibration is None


def test_many_labels_fit_the_threshold_on_every_labeled_row_but_the_examples():
    import numpy as np

    from fastsheet.learning.teach import MIN_HELD_OUT, held_out_calibration, held_out_rows

    labels = np.full(400, np.nan)
    labels[:20] = 1.0  # rare positives: the teaching rows take all of them
    labels[20:200] = 0.0
    examples = [0, 1, 2, 3, 20, 21, 22, 23]
    held = held_out_rows(labels, examples)
    assert held is not None and len(held) == 200 - 8 and not set(held) & set(examples)
    assert (labels[held] == 1.0).sum() == 16  # positives stay, but for those shown
    assert held_out_rows(labels[:64], examples) is None  # no more labels than teaching rows
    one_class = np.where(np.arange(400) < 200, 0.0, np.nan)
    assert held_out_rows(one_class, examples) is None
    p = np.where(labels[held] == 1.0, 0.4, 0.1)
    calibration = held_out_calibration(p, labels[held])
    assert calibration.mode is Mode.GOLD and 0.1 < calibration.threshold < 0.4
    assert held_out_calibration(p[: MIN_HELD_OUT - 1], labels[held][: MIN_HELD_OUT - 1]) is None
