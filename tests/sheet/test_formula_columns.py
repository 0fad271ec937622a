"""Formula columns in the live engine (fake backend): exact values, dependencies both ways."""

from __future__ import annotations

import asyncio
import datetime as dt

import polars as pl
import pytest

from fastsheet.backends.base import FakeBackend
from fastsheet.data.errors import RuleError
from fastsheet.kinds import kind_of
from fastsheet.kinds.rules import Kind, Rule
from fastsheet.sheet.engine import ColumnEvent, Evaluator
from tests.sheet.test_engine_logic import RecordingBackend, row_of

N = 60
FRAME = pl.DataFrame(
    {
        "item": [f"item {i}" for i in range(N)],
        "n": list(range(N)),
        "joined": [dt.date(2020, 1, 1) + dt.timedelta(days=30 * i) for i in range(N)],
    }
)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def formula(text: str, name: str = "f") -> Rule:
    return Rule(text, name=name, kind=Kind.FORMULA)


def test_a_formula_column_computes_every_row_without_the_model():
    async def main():
        backend = FakeBackend()
        ev = Evaluator(FRAME, backend)
        events: list[ColumnEvent] = []
        ev.subscribe(lambda e: events.append(e) if isinstance(e, ColumnEvent) else None)
        ev.set_rule(formula('n % 4 = 0 and joined >= "2021-01-01"', "picked"))
        await ev.wait_idle()
        assert backend.calls == []  # never the model
        expected = [
            i % 4 == 0 and dt.date(2020, 1, 1) + dt.timedelta(days=30 * i) >= dt.date(2021, 1, 1)
            for i in range(N)
        ]
        assert ev.values_of("picked").to_list() == expected
        assert (
            ev.summary("picked").text()
            == f"{sum(expected)} / {N} true ({100 * sum(expected) / N:.1f}%)"
        )
        assert ev.cell("picked", 4).value is False and ev.cell("picked", 16).value is True
        assert [e.kind for e in events] == ["started", "complete"]
        ev.set_rule(formula("n * 2 + 0.5", "doubled"))
        await ev.wait_idle()
        assert ev.cell("doubled", 3).value == 6.5
        assert ev.summary("doubled").text().startswith("mean 59.50")
        ev.close()

    run(main())


def test_a_formula_reads_rule_columns_once_they_are_complete():
    async def main():
        backend = RecordingBackend()  # yes on every third row
        ev = Evaluator(FRAME, backend, max_batch=16)
        ev.set_rule(Rule("is it big?", name="big"))
        ev.set_rule(formula("big and n < 30", "shortlist"))
        assert ev.columns["shortlist"].result.state.max() == 0  # waits for {big}
        await ev.wait_idle()
        assert ev.values_of("shortlist").to_list() == [i % 3 == 0 and i < 30 for i in range(N)]
        # an edit of the rule starts the formula again after it
        ev.set_rule(Rule("is it huge?", name="big"))
        assert ev.columns["shortlist"].complete is False
        await ev.wait_idle()
        assert ev.summary("shortlist").text() == f"10 / {N} true (16.7%)"
        # a threshold set by hand re-decides {big}: the formula follows, no model call
        calls = len(backend.calls)
        ev.set_threshold("big", 0.05)
        await ev.wait_idle()
        assert ev.values_of("shortlist").to_list() == [i < 30 for i in range(N)]
        assert len(backend.calls) == calls
        ev.close()

    run(main())


def test_a_rule_reads_a_formula_column_as_yes_or_no():
    async def main():
        seen: list[str] = []

        class Spy(RecordingBackend):
            def judge(self, rule, records):
                if rule.name == "risky":
                    seen.extend(r for r in records if row_of(r) >= 0)
                return super().judge(rule, records)

        ev = Evaluator(FRAME.head(6), Spy())
        ev.set_rule(formula("n >= 3", "late"))
        ev.set_rule(Rule("Given {late}, is {item} risky?", name="risky"))
        await ev.wait_idle()
        firsts = sorted(r.split("\n")[0] for r in seen)
        assert firsts == ["late: no"] * 3 + ["late: yes"] * 3
        ev.close()

    run(main())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('n >= "five"', "Cannot compare a number with text"),
        ("len(n)", "len() needs text here, not a number"),
        ("missing > 1", "Unknown column 'missing'"),
        ("n +", "Expected a value, but the formula ends here"),
    ],
)
def test_a_bad_formula_is_an_error_on_its_column_and_keeps_the_text(text: str, message: str):
    async def main():
        ev = Evaluator(FRAME, FakeBackend())
        with pytest.raises(RuleError, match=message.replace("(", r"\(").replace(")", r"\)")):
            ev.set_rule(formula(text))
        column = ev.columns["f"]
        assert column.rule.text == text and message in (column.error or "")
        assert ev.cell("f", 0).state.value == "error"
        await ev.wait_idle(timeout=10)
        ev.set_rule(formula("n > 1"))
        await ev.wait_idle()
        assert ev.columns["f"].error is None and ev.summary("f").done == N
        ev.close()

    run(main())


def test_a_formula_naming_a_rule_that_does_not_exist_yet_revives_when_it_does():
    async def main():
        ev = Evaluator(FRAME, RecordingBackend())
        with pytest.raises(RuleError, match="Unknown column 'big'"):
            ev.set_rule(formula("big or n = 1", "either"))
        ev.set_rule(Rule("is it big?", name="big"))
        await ev.wait_idle()
        assert ev.columns["either"].error is None
        assert ev.values_of("either").to_list() == [i % 3 == 0 or i == 1 for i in range(N)]
        ev.close()

    run(main())


def test_the_formula_kind_is_one_module():
    kind = kind_of(Kind.FORMULA)
    assert type(kind).__module__ == "fastsheet.kinds.formula"
    assert not kind.judged and not kind.labelable
    assert formula('contains({item}, "1") and n > 2').references() == ["item", "n"]


def test_a_rule_reads_an_empty_formula_value_as_empty():
    from fastsheet.kinds.formula import FORMULA
    from fastsheet.stats.calibrate import Calibration

    result = FORMULA.new_result(formula("a and b"), 3, 0)
    result.set_values(pl.Series([True, None, False]), "true/false")
    assert result.as_text(Calibration()).to_list() == ["yes", "", "no"]
