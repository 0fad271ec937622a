"""The short-circuit: a rule read only through `a and rule` is judged only where a holds."""

from __future__ import annotations

import asyncio

import pytest

from fastsheet.data.cells import CellState
from fastsheet.data.errors import RuleError
from fastsheet.formula.shortcircuit import any_of, both, needed_where
from fastsheet.kinds.rules import Kind, Rule
from fastsheet.sheet.cache import ResultCache
from fastsheet.sheet.engine import Evaluator
from tests.sheet.test_conditions import FRAME, N, judged_rows
from tests.sheet.test_engine_logic import RecordingBackend

JUDGED = {"led_team", "other_rule"}


def exact(name: str) -> bool:
    return name not in JUDGED


@pytest.mark.parametrize(
    ("formula", "needed"),
    [
        ("senior and led_team", "senior"),
        ("led_team and senior", "senior"),
        ("{led_team} && years >= 5", "years >= 5"),
        (
            'years >= 5 and contains(skills, "Python") and led_team',
            'years >= 5 and contains(skills, "Python")',
        ),
        ("(a or b) and led_team", "(a or b)"),
        ("led_team and other_rule", None),  # no exact part: needed everywhere
        ("led_team and other_rule and x", "x"),
        ("led_team or senior", None),  # only `and` short-circuits
        ("senior and led_team or x", None),
        ("not led_team and senior", None),  # the rule is not a whole part
        ("senior and (led_team or x)", None),
        ("led_team", None),
        ("led_team and led_team", None),
        ("senior and led_team = true", None),
        ("senior and", None),  # cannot be read: needed everywhere
    ],
)
def test_needed_where(formula: str, needed: str | None):
    assert needed_where(formula, "led_team", exact) == needed


def test_conditions_combine():
    assert any_of(["a"]) == "a"
    assert any_of(["a", "a"]) == "a"
    assert any_of(["a", "b and c"]) == "a or (b and c)"
    assert both("", "a") == "a" and both("a", "") == "a" and both("a", "a") == "a"
    assert both("n > 3", "a or b") == "n > 3 and (a or b)"


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def test_a_formula_and_judges_its_rule_only_where_the_exact_part_holds(tmp_path):
    async def main():
        backend = RecordingBackend()  # yes on every third row
        cache = ResultCache(tmp_path / "cache.sqlite")
        ev = Evaluator(FRAME, backend, cache, max_batch=16)
        ev.set_rule(Rule("n >= 60", name="senior", kind=Kind.FORMULA))
        ev.set_rule(Rule("has led a team?", name="led_team"))
        await ev.wait_idle()
        assert judged_rows(backend, "has led a team?") == list(range(N))  # nobody reads it
        backend.batches.clear()
        ev.set_rule(Rule("senior and led_team", name="shortlist", kind=Kind.FORMULA))
        await ev.wait_idle()
        assert judged_rows(backend, "has led a team?") == []  # the rest came from the cache
        assert ev.columns["led_team"].where == "senior"
        assert ev.cell("led_team", 3).state is CellState.SKIPPED
        assert ev.cell("led_team", 63).value is True
        assert ev.summary("led_team").skipped == 60
        shortlist = ev.values_of("shortlist").to_list()
        assert shortlist == [i >= 60 and i % 3 == 0 for i in range(N)]
        ev.close()
        cache.close()

    run(main())


def test_the_rule_is_never_asked_outside_the_exact_part_on_a_fresh_sheet():
    async def main():
        backend = RecordingBackend()
        ev = Evaluator(FRAME, backend, max_batch=16)
        ev.set_visible(range(0, 20))  # visible rows outside the `and` are not judged either
        ev.set_rule(Rule("n >= 60", name="senior", kind=Kind.FORMULA))
        with pytest.raises(RuleError, match="Unknown column 'led_team'"):
            ev.set_rule(Rule("senior and led_team", name="shortlist", kind=Kind.FORMULA))
        ev.set_rule(Rule("has led a team?", name="led_team"))  # the formula runs now
        await ev.wait_idle()
        assert judged_rows(backend, "has led a team?") == list(range(60, N))
        assert ev.summary("shortlist").text().startswith("10 / 90")
        ev.close()

    run(main())


def test_another_reader_that_needs_every_row_turns_the_short_circuit_off():
    async def main():
        backend = RecordingBackend()
        ev = Evaluator(FRAME, backend, max_batch=16)
        ev.set_rule(Rule("n >= 60", name="senior", kind=Kind.FORMULA))
        ev.set_rule(Rule("has led a team?", name="led_team"))
        ev.set_rule(Rule("senior and led_team", name="shortlist", kind=Kind.FORMULA))
        await ev.wait_idle()
        # the rule started alone: at most its first batch was taken before the formula came
        judged = judged_rows(backend, "has led a team?")
        assert set(range(60, N)) <= set(judged) and len(judged) <= N - 60 + 2
        assert ev.cell("led_team", 30).state is CellState.SKIPPED
        backend.batches.clear()
        ev.set_rule(Rule("n < 10 and led_team", name="juniors", kind=Kind.FORMULA))
        await ev.wait_idle()  # two readers: needed where either holds
        assert ev.columns["led_team"].where == "senior or n < 10"
        assert set(judged_rows(backend, "has led a team?")) <= {*range(10), *range(60, N)}
        assert ev.cell("led_team", 5).state is CellState.DONE
        ev.set_rule(Rule("led_team or senior", name="either", kind=Kind.FORMULA))
        await ev.wait_idle()  # `or` needs every row
        assert ev.columns["led_team"].where == ""
        assert ev.cell("led_team", 30).state is CellState.DONE
        assert ev.summary("led_team").skipped == 0
        ev.remove("either")
        ev.remove("juniors")
        await ev.wait_idle()
        assert ev.columns["led_team"].where == "senior"
        assert ev.cell("led_team", 30).state is CellState.SKIPPED
        ev.close()

    run(main())


def test_a_rule_reading_the_column_and_an_own_condition():
    async def main():
        backend = RecordingBackend()
        ev = Evaluator(FRAME, backend, max_batch=16)
        ev.set_rule(Rule("n >= 60", name="senior", kind=Kind.FORMULA))
        ev.set_rule(Rule("has led a team?", name="led_team", where="n % 2 = 0"))
        ev.set_rule(Rule("senior and led_team", name="shortlist", kind=Kind.FORMULA))
        await ev.wait_idle()
        assert ev.columns["led_team"].where == "n % 2 = 0 and senior"  # both hold
        assert judged_rows(backend, "has led a team?") == list(range(60, N, 2))
        assert ev.columns["led_team"].rule.where == "n % 2 = 0"  # never written into the rule
        ev.set_rule(Rule("is {led_team} odd?", name="reader"))  # a rule reads every row
        await ev.wait_idle()
        assert ev.columns["led_team"].where == "n % 2 = 0"
        ev.close()

    run(main())


def test_editing_the_exact_part_moves_the_rows_judged(tmp_path):
    async def main():
        backend = RecordingBackend()
        cache = ResultCache(tmp_path / "cache.sqlite")  # rows judged before answer from it
        ev = Evaluator(FRAME, backend, cache, max_batch=16)
        ev.set_rule(Rule("n >= 60", name="senior", kind=Kind.FORMULA))
        ev.set_rule(Rule("has led a team?", name="led_team"))
        ev.set_rule(Rule("senior and led_team", name="shortlist", kind=Kind.FORMULA))
        await ev.wait_idle()
        backend.batches.clear()
        ev.set_rule(Rule("n >= 30", name="senior", kind=Kind.FORMULA))
        await ev.wait_idle()
        assert judged_rows(backend, "has led a team?") == list(range(30, 60))
        assert ev.summary("led_team").skipped == 30
        assert ev.values_of("shortlist").to_list() == [i >= 30 and i % 3 == 0 for i in range(N)]
        ev.close()
        cache.close()

    run(main())
