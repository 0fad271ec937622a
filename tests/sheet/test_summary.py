from pathlib import Path

import numpy as np
import polars as pl
import pytest

from fastsheet.data.cells import Answer
from fastsheet.data.errors import DataError
from fastsheet.formula.parser import BOOL, NUMBER
from fastsheet.kinds import kind_of
from fastsheet.kinds.results import ResultColumn
from fastsheet.kinds.rules import Kind, Rule
from fastsheet.sheet.summary import (
    agreement,
    breakdown,
    default_breakdown,
    disagreements,
    gold_flags,
    gold_labels,
    summarize,
    wilson,
)
from fastsheet.stats.calibrate import Calibration


def flag_column(p_yes, done=None):
    col = ResultColumn(Rule("r"), len(p_yes))
    rows = [i for i in range(len(p_yes)) if done is None or i in done]
    col.set_answers(rows, [Answer(None, p_yes[i], (p_yes[i], 1 - p_yes[i])) for i in rows])
    return col


def test_wilson_known_values():
    low, high = wilson(5, 10)
    assert abs(low - 0.2366) < 1e-3 and abs(high - 0.7634) < 1e-3
    assert wilson(0, 0) == (0.0, 1.0)


def test_finite_population_narrows_and_closes_the_interval():
    low_inf, high_inf = wilson(40, 400)
    low, high = wilson(40, 400, population=1000)
    assert high - low < high_inf - low_inf
    assert wilson(40, 1000, population=1000) == (0.04, 0.04)


def test_flag_summary_texts():
    p = [0.9] * 847 + [0.1] * (10_000 - 847)
    complete = summarize(flag_column(p), Calibration())
    assert complete.text() == "847 / 10,000 flagged (8.5%)"
    partial = summarize(flag_column(p, done=set(range(800, 1200))), Calibration())
    assert partial.text().startswith("≈ ") and "(400 of 10,000)" in partial.text()


def test_before_the_random_sample_the_summary_says_only_what_is_known():
    # the 14 visible rows judged first, all "no", on a 30-row sheet
    col = flag_column([0.1] * 30, done=set(range(14)))
    prioritised = np.zeros(30, dtype=bool)
    prioritised[:14] = True
    s = summarize(col, Calibration(), prioritised)
    assert s.text() == "0 of 14 flagged so far · whole column between 0% and 53%"
    assert "±" not in s.text()
    # once random-order rows exist, it extrapolates from them
    col = flag_column([0.1] * 30, done=set(range(20)))
    s = summarize(col, Calibration(), prioritised)
    assert s.text().startswith("≈ 0.0% ± ")


def test_threshold_changes_decisions():
    col = flag_column([0.1, 0.2, 0.3, 0.4])
    assert summarize(col, Calibration(threshold=0.25)).flagged == 2


def test_label_and_score_summaries():
    rule = Rule("which", kind=Kind.LABEL, labels=("a", "b", "c"))
    col = ResultColumn(rule, 3)
    col.set_answers(
        [0, 1, 2],
        [
            Answer("a", 0.6, (0.6, 0.3, 0.1)),
            Answer("c", 0.5, (0.2, 0.3, 0.5)),
            Answer("a", 0.9, (0.9, 0.05, 0.05)),
        ],
    )
    assert summarize(col, Calibration()).counts == {"a": 2, "b": 0, "c": 1}
    score = ResultColumn(Rule("how", kind=Kind.SCORE, scale=(1, 3)), 2)
    score.set_answers(
        [0, 1], [Answer(1.0, 1.0, (1.0, 0.0, 0.0)), Answer(3.0, 1.0, (0.0, 0.0, 1.0))]
    )
    assert summarize(score, Calibration()).mean == 2.0


def test_gold_parsing_and_agreement():
    gold = gold_flags(pl.Series("g", ["true", "no", "1", "", "Yes"]))
    assert np.array_equal(np.isnan(gold), [False, False, False, True, False])
    col = flag_column([0.9, 0.9, 0.1, 0.5, 0.9])
    a = agreement(col, Calibration(), gold)
    assert (a.n, a.matches) == (4, 2)
    assert a.binary.tp == 2 and a.binary.fp == 1 and a.binary.fn == 1
    assert a.text().startswith("2/4 match")
    assert list(disagreements(col, Calibration(), gold)) == [1, 2]
    with pytest.raises(DataError):
        gold_flags(pl.Series("g", ["maybe", "perhaps"]))
    assert list(gold_labels(pl.Series(["B", "a", "z"]), ("a", "b"))[:2]) == [1.0, 0.0]


def test_breakdown_by_column():
    frame = pl.DataFrame({"country": ["UK", "UK", "FR", "FR"]})
    col = flag_column([0.9, 0.1, 0.9, 0.9])
    out = breakdown(frame, col, Calibration(), "country")
    assert out.row(0, named=True) == {"country": "FR", "rows": 2, "flagged": 2, "share": 1.0}


def test_a_true_false_formula_breaks_down_as_counts_of_true():
    frame = pl.DataFrame({"country": ["UK", "UK", "FR", "FR", "FR"]})
    rule = Rule("x", name="ok", kind=Kind.FORMULA)
    col = kind_of(rule).new_result(rule, frame.height, 1)
    col.set_values(pl.Series([True, False, True, True, None]), BOOL)  # empty counts as false
    out = breakdown(frame, col, Calibration(), "country")
    assert out.rows(named=True) == [
        {"country": "FR", "rows": 3, "flagged": 2, "share": 2 / 3},
        {"country": "UK", "rows": 2, "flagged": 1, "share": 0.5},
    ]
    col.set_values(pl.Series([1.0, 3.0, 2.0, 4.0, 6.0]), NUMBER)  # numbers: the mean
    out = breakdown(frame, col, Calibration(), "country")
    assert out.rows(named=True) == [{"country": "FR", "rows": 3, "mean": 4.0},
                                    {"country": "UK", "rows": 2, "mean": 2.0}]  # fmt: skip


def test_the_default_breakdown_is_a_column_of_few_categories_never_free_text():
    frame = pl.DataFrame(
        {
            "message": [f"message number {i}" for i in range(40)],
            "amount": [i * 1.5 for i in range(40)],
            "gold": [i % 2 == 0 for i in range(40)],
            "country": ["UK", "FR", "DE", "PL"] * 10,
        }
    )
    assert default_breakdown(frame, exclude=["gold"]) == "country"
    assert default_breakdown(frame) == "gold"
    assert default_breakdown(frame.select("message", "amount")) is None
    samples = Path(__file__).resolve().parents[2] / "resources" / "samples"
    assert default_breakdown(pl.read_csv(samples / "support.csv")) is None
    candidates = pl.read_csv(samples / "candidates.csv")
    assert default_breakdown(candidates, exclude=["qualifies"]) == "location"


def test_a_score_reads_marks_and_gold_as_points_on_its_scale_and_agrees_when_it_rounds():
    rule = Rule("how", kind=Kind.SCORE, scale=(1, 5))
    kind = kind_of(rule)
    gold = kind.read_gold(pl.Series("g", ["4", "x", None, "5.0", "7", "1"]), rule)
    assert np.array_equal(gold, [3, np.nan, np.nan, 4, np.nan, 0], equal_nan=True)
    assert kind.encode(rule, 3.4) == 2.0 and kind.decode(rule, 2.0) == 3
    assert kind.encode(rule, "5") == 4.0
    with pytest.raises(ValueError, match="not on the scale 1-5"):
        kind.encode(rule, 9)
    assert [value for _, value in kind.mark_choices(rule)] == [1, 2, 3, 4, 5]
    assert kind.mark_series("g", [None, 4]).to_list() == [None, 4]
    col = ResultColumn(rule, 3)
    one_hot = [tuple(float(i == k) for i in range(5)) for k in (3, 1, 4)]
    col.set_answers(
        [0, 1, 2], [Answer(float(k) + 1, 1.0, p) for k, p in zip((3, 1, 4), one_hot, strict=True)]
    )
    a = agreement(col, Calibration(), np.array([3.0, 2.0, 4.0]))  # 4, 2, 5 decided
    assert (a.n, a.matches) == (3, 2)
    assert list(disagreements(col, Calibration(), np.array([3.0, 2.0, 4.0]))) == [1]
