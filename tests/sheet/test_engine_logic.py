"""Engine logic with a fake backend: ordering, cancellation points, dependencies, diff, memory."""

from __future__ import annotations

import asyncio
import re
import threading
import tracemalloc

import numpy as np
import polars as pl
import pytest

from fastsheet.backends.base import FakeBackend
from fastsheet.data.errors import RuleError
from fastsheet.kinds.rules import Kind, Rule
from fastsheet.sheet.cache import ResultCache
from fastsheet.sheet.engine import Evaluator, Update
from fastsheet.sheet.schedule import Schedule

N = 100
FRAME = pl.DataFrame({"item": [f"item {i}" for i in range(N)], "n": list(range(N))})


def row_of(record: str) -> int:
    """The row a record came from; -1 for a content-free record."""
    found = re.search(r"item: item (\d+)", record)
    return int(found.group(1)) if found else -1


class RecordingBackend(FakeBackend):
    """Records which rows each call judged; can hold a call until released."""

    def __init__(self, scorer=None) -> None:
        scorer = scorer or (lambda rule, rec: 0.9 if row_of(rec) % 3 == 0 else 0.1)
        # content-free records sit in the middle, so the calibrated threshold is 0.5
        super().__init__(scorer=lambda rule, rec: 0.5 if row_of(rec) < 0 else scorer(rule, rec))
        self.batches: list[tuple[str, list[int]]] = []
        self.gate: threading.Event | None = None
        self.entered = threading.Event()

    def judge(self, rule, records):
        if records and row_of(records[0]) >= 0:
            self.batches.append((rule.text, [row_of(r) for r in records]))
            self.entered.set()
            if self.gate is not None:
                self.gate.wait(10)
        return super().judge(rule, records)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def test_schedule_orders_visible_then_seeded_random_with_growing_batches():
    s = Schedule(50, seed=1, first_batch=2, max_batch=8)
    s.set_visible([10, 11, 12])
    s.start("a", 1, work="runner")
    kinds = []
    rows = []
    while (task := s.next_task()) is not None:
        kinds.append(task.kind)
        if task.kind == "cache":
            continue
        if task.kind == "judge":
            rows.append(list(task.rows))
    assert kinds[:2] == ["calibrate", "cache"]
    assert [len(b) for b in rows[:4]] == [2, 4, 8, 8]
    flat = [r for b in rows for r in b]
    assert flat[:3] == [10, 11, 12]
    assert sorted(flat) == list(range(50))  # every row exactly once
    expected_rest = [
        int(r) for r in np.random.default_rng(1).permutation(50) if r not in (10, 11, 12)
    ]
    assert flat[3:] == expected_rest


def test_rows_asked_first_come_after_the_visible_ones_in_lookups_and_judging():
    s = Schedule(50, seed=1, first_batch=2, max_batch=8)
    s.set_visible([10, 11])
    s.start("a", 1, work=None)
    s.set_ready("a", 1, "runner", first=np.array([40, 11, 3, 40]))  # a learning rule's labels
    tasks = []
    while (task := s.next_task()) is not None:
        tasks.append(task)
    lookups = [r for t in tasks if t.kind == "cache" for r in t.rows]
    assert lookups[:4] == [10, 11, 40, 3] and sorted(lookups) == list(range(50))
    judged = [r for t in tasks if t.kind == "judge" for r in t.rows]
    assert judged[:4] == [10, 11, 40, 3] and sorted(judged) == list(range(50))
    assert s.columns["a"].prioritised[[10, 11, 40, 3]].all()
    assert s.columns["a"].prioritised.sum() == 4  # the rest in the seeded random order


def test_visible_rows_follow_scrolling():
    s = Schedule(100, seed=0, first_batch=4, max_batch=4)
    s.start("a", 1, work="runner")
    s.next_task(), s.next_task()  # calibrate, cache
    s.set_visible([50, 51])
    assert s.next_task().rows[:2] == (50, 51)
    s.set_visible([90, 91, 92, 93])
    assert s.next_task().rows == (90, 91, 92, 93)


def test_every_row_is_judged_once_and_summary_becomes_exact():
    async def main():
        backend = RecordingBackend()
        ev = Evaluator(FRAME, backend, first_batch=2, max_batch=8)
        ev.set_visible(range(5))
        ev.set_rule(Rule("divisible by three"))
        seen_estimates = []
        ev.subscribe(
            lambda e: (
                seen_estimates.append(ev.summary("rule").text()) if isinstance(e, Update) else None
            )
        )
        await ev.wait_idle()
        ev.close()
        judged = sorted(r for _, rows in backend.batches for r in rows)
        assert judged == list(range(N))
        assert backend.batches[0][1] == [0, 1]
        assert set(backend.batches[1][1]) >= {2, 3, 4}
        assert ev.summary("rule").text() == "34 / 100 flagged (34.0%)"
        assert any(t.startswith("≈") for t in seen_estimates)

    run(main())


def test_a_new_edit_cancels_the_old_generation_at_the_batch_boundary():
    async def main():
        backend = RecordingBackend()
        backend.gate = threading.Event()
        ev = Evaluator(FRAME, backend, first_batch=2, max_batch=8)
        events: list = []
        ev.subscribe(events.append)
        g1 = ev.set_rule(Rule("first version"))
        await asyncio.get_running_loop().run_in_executor(None, backend.entered.wait, 10)
        g2 = ev.set_rule(Rule("second version"))
        backend.gate.set()
        await ev.wait_idle()
        ev.close()
        old_batches = [rows for text, rows in backend.batches if text == "first version"]
        assert len(old_batches) == 1  # only the batch in flight when the edit came
        old_results = [
            e
            for e in events
            if isinstance(e, Update) and e.generation == g1 and e.source == "model"
        ]
        assert old_results == []  # dropped, never shown
        assert all(c.generation == g2 for c in (ev.cell("rule", r) for r in range(N)))
        assert ev.summary("rule").done == N

    run(main())


def test_edit_back_is_served_from_the_cache(tmp_path):
    async def main():
        backend = RecordingBackend()
        ev = Evaluator(FRAME, backend, cache=ResultCache(tmp_path / "c.sqlite"))
        ev.set_rule(Rule("version A"))
        await ev.wait_idle()
        ev.set_rule(Rule("version B"))
        await ev.wait_idle()
        calls = len(backend.calls)
        ev.set_rule(Rule("version A"))
        await ev.wait_idle()
        assert len(backend.calls) == calls
        assert ev.summary("rule").done == N
        ev.close()

    run(main())


def test_dependents_run_after_their_dependency_and_follow_its_edits():
    async def main():
        backend = RecordingBackend()
        ev = Evaluator(FRAME, backend, max_batch=16)
        ev.set_rule(Rule("is it big?", name="big"))
        ev.set_rule(Rule("Given {big}, is {item} risky?", name="risky"))
        await ev.wait_idle()
        order = [text for text, _ in backend.batches]
        last_big = max(i for i, t in enumerate(order) if t == "is it big?")
        first_risky = min(i for i, t in enumerate(order) if t.startswith("Given"))
        assert last_big < first_risky
        backend.batches.clear()
        backend.calls.clear()
        ev.set_rule(Rule("is it huge?", name="big"))
        await ev.wait_idle()
        order = [text for text, _ in backend.batches]
        assert order[0] == "is it huge?" and order[-1].startswith("Given")
        assert ev.summary("risky").done == N
        ev.close()

    run(main())


def test_a_dependent_record_holds_the_dependency_value():
    async def main():
        seen: list[str] = []

        class Spy(RecordingBackend):
            def judge(self, rule, records):
                if rule.name == "risky":
                    seen.extend(records)
                return super().judge(rule, records)

        ev = Evaluator(FRAME.head(6), Spy())
        ev.set_rule(Rule("is it big?", name="big"))
        ev.set_rule(Rule("Given {big}, is {item} risky?", name="risky"))
        await ev.wait_idle()
        rows = [r for r in seen if row_of(r) >= 0]
        assert rows and all(r.split("\n")[0] in {"big: yes", "big: no"} for r in rows)
        ev.close()

    run(main())


def test_a_cycle_is_an_error_on_the_column_that_closes_it():
    async def main():
        ev = Evaluator(FRAME, RecordingBackend())
        ev.set_rule(Rule("is it big?", name="a"))
        ev.set_rule(Rule("given {a}?", name="b"))
        with pytest.raises(RuleError, match=r"'a' depends on itself: a → b → a"):
            ev.set_rule(Rule("given {b}?", name="a"))
        assert ev.columns["a"].rule.text == "given {b}?"  # the typed rule is kept
        assert ev.columns["a"].error
        assert ev.cell("a", 0).state.value == "error"
        await ev.wait_idle(timeout=10)
        # breaking the cycle revives both
        ev.set_rule(Rule("is it big?", name="a"))
        await ev.wait_idle()
        assert ev.summary("a").done == N and ev.summary("b").done == N
        ev.close()

    run(main())


def test_unknown_reference_lists_columns_and_revives_when_created():
    async def main():
        ev = Evaluator(FRAME, RecordingBackend())
        with pytest.raises(RuleError, match="Columns are: item, n"):
            ev.set_rule(Rule("given {later}?", name="b"))
        ev.set_rule(Rule("is it big?", name="later"))
        await ev.wait_idle()
        assert ev.columns["b"].error is None and ev.summary("b").done == N
        ev.close()

    run(main())


def test_history_and_diff():
    async def main():
        backend = RecordingBackend(
            scorer=lambda rule, rec: 0.9 if row_of(rec) < (30 if "v1" in rule.text else 50) else 0.1
        )
        ev = Evaluator(FRAME, backend)
        g1 = ev.set_rule(Rule("v1"))
        await ev.wait_idle()
        g2 = ev.set_rule(Rule("v2"))
        await ev.wait_idle()
        history = ev.history("rule")
        assert [h.rule.text for h in history] == ["v1", "v2"]
        assert history[0].summary.flagged == 30 and history[1].summary.flagged == 50
        diff = ev.diff("rule", g1, g2)
        assert list(diff.newly_flagged) == list(range(30, 50)) and len(diff.newly_cleared) == 0
        assert diff.text() == "+20 flagged, −0 cleared"
        ev.close()

    run(main())


def test_gold_column_sets_the_threshold_and_agreement():
    frame = FRAME.with_columns(gold=(pl.col("n") % 3 == 0))

    async def main():
        # a biased model: p(yes) never above 0.4, but it ranks perfectly
        backend = RecordingBackend(scorer=lambda rule, rec: 0.35 if row_of(rec) % 3 == 0 else 0.05)
        ev = Evaluator(frame, backend)
        ev.set_rule(Rule("divisible by three", gold="gold"))
        await ev.wait_idle()
        a = ev.agreement("rule")
        assert a.text().startswith("100/100 match")
        assert ev.summary("rule").flagged == 34
        column = ev.columns["rule"]
        assert column.taught_from == 100 and column.calibration.mode.value == "gold"
        assert 0.05 < column.calibration.threshold < 0.35
        assert len(column.runner.rule.examples) == 8  # taught: examples in the prefix
        ev.close()

    run(main())


def test_a_thousand_edits_do_not_grow_memory():
    async def main():
        ev = Evaluator(FRAME, RecordingBackend())
        tracemalloc.start()
        for i in range(200):
            ev.set_rule(Rule(f"version {i}"))
            await asyncio.sleep(0)
        await ev.wait_idle()
        after_200 = tracemalloc.get_traced_memory()[0]
        for i in range(200, 1000):
            ev.set_rule(Rule(f"version {i}"))
            await asyncio.sleep(0)
        await ev.wait_idle()
        after_1000 = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        assert len(ev.history("rule")) == 50
        assert after_1000 - after_200 < 2_000_000
        ev.close()

    run(main())


def test_setting_gold_keeps_the_answers_out_of_the_records():
    frame = FRAME.with_columns(gold=(pl.col("n") % 3 == 0))

    async def main():
        seen: list[str] = []

        class Spy(RecordingBackend):
            def judge(self, rule, records):
                seen.extend(records)
                return super().judge(rule, records)

        ev = Evaluator(frame, Spy())
        ev.set_rule(Rule("divisible by three"))
        await ev.wait_idle()
        assert any("gold: true" in r for r in seen)  # no gold set yet: an ordinary column
        seen.clear()
        ev.set_rule(Rule("divisible by three", gold="gold"))
        await ev.wait_idle()
        assert seen and not any("gold:" in r for r in seen)
        assert ev.summary("rule").done == N
        ev.close()

    run(main())


def test_marks_teach_the_rule_once_there_are_enough_of_them():
    async def main():
        backend = RecordingBackend(scorer=lambda rule, rec: 0.35 if row_of(rec) % 3 == 0 else 0.05)
        ev = Evaluator(FRAME, backend)
        g1 = ev.set_rule(Rule("divisible by three"))
        await ev.wait_idle()
        ev.set_marks("rule", {0: True, 1: False})  # two labels: agreement only, no restart
        assert ev.columns["rule"].generation == g1
        assert ev.agreement("rule").n == 2
        ev.set_marks("rule", {0: True, 1: False, 3: True, 4: False})
        await ev.wait_idle()
        column = ev.columns["rule"]
        assert column.generation > g1 and column.taught_from == 4
        assert [a for _, a in column.runner.rule.examples] == ["Yes", "No", "Yes", "No"]
        assert column.calibration.mode.value == "gold"
        assert 0.05 < column.calibration.threshold < 0.35
        assert ev.summary("rule").flagged == 34
        ev.set_marks("rule", {0: True})  # back under four: untaught again
        await ev.wait_idle()
        assert ev.columns["rule"].taught_from == 1 and not ev.columns["rule"].runner.rule.examples
        ev.close()

    run(main())


def test_a_threshold_set_by_hand_re_decides_without_the_model():
    async def main():
        backend = RecordingBackend()
        ev = Evaluator(FRAME, backend)
        ev.set_rule(Rule("divisible by three"))
        await ev.wait_idle()
        calls = len(backend.calls)
        events: list = []
        ev.subscribe(events.append)
        ev.set_threshold("rule", 0.95)
        assert ev.columns["rule"].calibration.mode.value == "manual"
        assert ev.summary("rule").flagged == 0
        assert any(isinstance(e, Update) and e.source == "calibration" for e in events)
        ev.set_threshold("rule", 0.01)
        assert ev.summary("rule").flagged == N
        ev.set_threshold("rule", None)
        assert ev.summary("rule").flagged == 34
        assert len(backend.calls) == calls  # no model call
        ev.set_rule(Rule("something else"))  # a new rule forgets the hand-set threshold
        assert "rule" not in ev.thresholds
        ev.close()

    run(main())


def test_a_gold_column_with_many_labels_fits_the_threshold_on_the_rows_not_shown():
    from fastsheet.learning.teach import held_out_calibration

    frame = pl.DataFrame({"item": [f"item {i}" for i in range(300)], "n": list(range(300))})
    frame = frame.with_columns(gold=(pl.col("n") % 3 == 0))

    async def main():
        backend = RecordingBackend(scorer=lambda rule, rec: 0.3 if row_of(rec) % 3 == 0 else 0.1)
        ev = Evaluator(frame, backend)
        ev.set_rule(Rule("divisible by three", gold="gold"))
        await ev.wait_idle()
        column = ev.columns["rule"]
        held = column.held_rows
        assert held is not None and len(held) == 300 - 8  # all labeled rows but the examples
        expected = held_out_calibration(column.result.p_yes()[held], column.held_labels)
        assert column.calibration == expected and 0.1 < expected.threshold < 0.3
        assert ev.summary("rule").flagged == 100
        ev.close()

    run(main())


def test_a_rule_turned_formula_stops_its_model_work():
    async def main():
        backend = RecordingBackend()
        backend.gate = threading.Event()
        ev = Evaluator(FRAME, backend)
        ev.set_rule(Rule("The item is rare.", name="r"))
        await asyncio.get_running_loop().run_in_executor(None, backend.entered.wait, 10)
        ev.set_rule(Rule("n > 50", name="r", kind=Kind.FORMULA))
        backend.gate.set()
        await ev.wait_idle(timeout=30)  # never idle while the old rule's rows were judged
        calls = len(backend.batches)
        await asyncio.sleep(0.3)
        assert len(backend.batches) == calls == 1  # only the batch already in flight
        assert ev.values_of("r").to_list() == [n > 50 for n in range(N)]
        ev.close()

    run(main())
