"""Conditions (`only where …`): rows outside are skipped, never judged (fake backend)."""

from __future__ import annotations

import asyncio

import numpy as np
import polars as pl
import pytest

from fastsheet.data.cells import Answer, CellState
from fastsheet.data.errors import RuleError
from fastsheet.kinds.results import ResultColumn, with_results
from fastsheet.kinds.rules import Kind, Rule
from fastsheet.sheet.engine import Evaluator
from fastsheet.sheet.runner import RuleRunner, evaluate
from fastsheet.stats.calibrate import Calibration
from tests.sheet.test_engine_logic import RecordingBackend

N = 90
FRAME = pl.DataFrame({"item": [f"item {i}" for i in range(N)], "n": list(range(N))})


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def judged_rows(backend: RecordingBackend, text: str) -> list[int]:
    return sorted(r for t, rows in backend.batches if t == text for r in rows)


def test_only_the_rows_the_condition_keeps_are_judged():
    async def main():
        backend = RecordingBackend()  # yes on every third row
        ev = Evaluator(FRAME, backend, max_batch=16)
        ev.set_visible(range(0, 20))  # visible rows outside the condition are not judged either
        ev.set_rule(Rule("is it big?", name="big", where="n >= 60"))
        await ev.wait_idle()
        assert judged_rows(backend, "is it big?") == list(range(60, N))
        assert ev.cell("big", 3).state is CellState.SKIPPED
        assert ev.cell("big", 63).value is True
        summary = ev.summary("big")
        assert summary.text() == f"10 / {N} flagged (11.1%) · 60 skipped"
        column = ev.columns["big"]
        exported = with_results(FRAME, column.result, column.calibration, source=True)
        assert exported["big"].head(60).is_null().all()
        assert exported["big_source"].value_counts(sort=True).rows() == [
            ("skipped", 60),
            ("model", 30),
        ]
        ev.close()

    run(main())


def test_the_running_estimate_covers_only_the_rows_left_to_judge():
    result = ResultColumn(Rule("is it big?"), N)
    result.set_skipped(np.arange(N) >= 30)  # 60 rows outside the condition
    sample = list(range(0, 30, 3))  # 10 of the 30 kept rows judged: 5 flagged
    result.set_answers(sample, [Answer(None, p, (p, 1 - p)) for p in [0.9, 0.1] * 5])
    running = result.summary(Calibration(), np.zeros(N, dtype=bool))
    assert not running.complete and running.skipped == 60 and running.done == 70
    # half the sample is flagged: half of the 30 kept rows, and none of the skipped ones
    assert running.share == pytest.approx(15 / N)
    assert 0 < running.low < 15 / N < running.high <= 30 / N + 1e-9
    assert running.text().endswith("· 60 skipped")


def test_a_condition_on_a_formula_and_a_rule_follows_their_edits():
    async def main():
        backend = RecordingBackend()
        ev = Evaluator(FRAME, backend, max_batch=16)
        ev.set_rule(Rule("n % 2 = 0", name="even", kind=Kind.FORMULA))
        ev.set_rule(Rule("is it big?", name="big"))
        ev.set_rule(Rule("is it risky?", name="risky", where="even and big"))
        await ev.wait_idle()
        assert judged_rows(backend, "is it risky?") == [i for i in range(N) if i % 6 == 0]
        backend.batches.clear()
        ev.set_rule(Rule("n % 5 = 0", name="even", kind=Kind.FORMULA))  # a new condition
        await ev.wait_idle()
        assert judged_rows(backend, "is it risky?") == [i for i in range(N) if i % 15 == 0]
        assert ev.summary("risky").skipped == N - N // 15
        ev.close()

    run(main())


def test_every_row_skipped_completes_at_once_without_the_model():
    async def main():
        backend = RecordingBackend()
        ev = Evaluator(FRAME, backend)
        ev.set_rule(Rule("is it big?", name="big", where="n > 1000"))
        await ev.wait_idle()
        assert judged_rows(backend, "is it big?") == []
        assert (
            ev.columns["big"].complete
            and ev.summary("big").text() == f"0 / {N} flagged (0.0%) · {N} skipped"
        )
        ev.close()

    run(main())


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("n + 1", "must be true or false; 'n + 1' gives a number"),
        ("nope > 1", "The condition of 'big': Unknown column 'nope'"),
        ("item > 3", "Cannot compare text with a number"),
        ("n >", "Expected a value, but the formula ends here"),
    ],
)
def test_a_bad_condition_is_an_error_on_the_column(where: str, message: str):
    async def main():
        ev = Evaluator(FRAME, RecordingBackend())
        with pytest.raises(RuleError, match=message.replace("(", r"\(").replace("+", r"\+")):
            ev.set_rule(Rule("is it big?", name="big", where=where))
        assert ev.columns["big"].rule.where == where and ev.columns["big"].error
        await ev.wait_idle(timeout=10)
        ev.close()

    run(main())


def test_a_condition_belongs_to_a_rule_column():
    with pytest.raises(RuleError, match="Only a rule column has a condition"):
        Rule("n > 1", kind=Kind.FORMULA, where="n > 2")
    assert Rule("x", where="  n > 2 ").where == "n > 2"


def test_the_runner_skips_rows_and_says_where_answers_came_from():
    backend = RecordingBackend()
    runner = RuleRunner(FRAME.head(12), Rule("is it big?"), backend)
    skip = np.arange(12) < 4
    result = evaluate(runner, skip=skip)
    assert judged_rows(backend, "is it big?") == list(range(4, 12))
    assert result.summary(Calibration()).skipped == 4
    assert result.source_column().to_list() == ["skipped"] * 4 + ["model"] * 8
