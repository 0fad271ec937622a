"""A rule that learns its labels (learned.py; the user turns it on, `Rule.learn`): the
engine's learned mode, with a fake backend whose answers are poor but whose "states" carry
the truth, as a model's hidden state can."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace

import numpy as np
import polars as pl

from fastsheet.backends.base import FakeBackend
from fastsheet.kinds.rules import Kind, Rule
from fastsheet.learning.learned import LEARN_FROM, learn
from fastsheet.sheet.cache import ResultCache
from fastsheet.sheet.engine import Evaluator
from fastsheet.stats.head import Shape

N = 400
FRAME = pl.DataFrame({"item": [f"item {i}" for i in range(N)]})
TRUTH = (np.arange(N) % 4 == 0).astype(float)  # every fourth row is a yes


def row_of(record: str) -> int:
    found = re.search(r"item (\d+)", record)
    return int(found.group(1)) if found else -1


def state_of(record: str) -> np.ndarray:
    """Noise, with the truth along one direction of eight."""
    row = row_of(record)
    rng = np.random.default_rng(row + 1000)
    x = rng.standard_normal(8)
    if row >= 0:
        x[3] += 3.0 * (TRUTH[row] * 2 - 1)
    return x


def poor_answer(rule: Rule, record: str) -> float:
    """p(yes) that knows little: mostly noise around the middle."""
    row = row_of(record)
    if row < 0:
        return 0.5
    return float(np.clip(0.5 + 0.05 * (TRUTH[row] - 0.5) + 0.2 * np.sin(row * 7.1), 0.01, 0.99))


def backend() -> FakeBackend:
    return FakeBackend(scorer=poor_answer, states=state_of)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def marks_for(rows) -> dict[int, object]:
    return {int(r): bool(TRUTH[r]) for r in rows}


def balanced(decided: np.ndarray) -> float:
    return float(np.mean([np.mean(decided[k == TRUTH] == k) for k in (0.0, 1.0)]))


def test_from_enough_labels_the_column_learns_them_and_re_decides_without_the_model():
    async def main():
        fake = backend()
        ev = Evaluator(FRAME, fake)
        ev.set_rule(Rule("a yes", name="rule", learn=True))
        await ev.wait_idle()
        before = balanced(ev.columns["rule"].result.decide(ev.columns["rule"].calibration)[0])
        ev.set_marks("rule", marks_for(range(LEARN_FROM)))
        await ev.wait_idle()
        column = ev.columns["rule"]
        assert column.decision.learning and column.decision.learned is not None
        assert column.decision.learned.learned  # the states beat the answer alone
        assert column.calibration.mode.value == "learned"
        assert column.taught_from == LEARN_FROM
        assert not column.runner.rule.examples  # the plain prompt: its states are learned
        after = balanced(column.result.decide(column.calibration)[0])
        assert before < 0.7 < 0.9 < after
        agreed, n, share = column.decision.learned.agreement()
        assert n == LEARN_FROM and agreed >= 0.8 * n and share == agreed / n
        # one more label: re-decided from the stored states, same generation, no model call
        calls, generation = len(fake.calls), column.generation
        ev.set_marks("rule", marks_for(range(LEARN_FROM + 8)))
        await ev.wait_idle()
        assert ev.columns["rule"].generation == generation
        assert len(fake.calls) == calls
        assert ev.columns["rule"].taught_from == LEARN_FROM + 8
        assert ev.columns["rule"].decision.learned.choice.n_labels == LEARN_FROM + 8
        # back under LEARN_FROM: today's teaching (examples in the prompt), a new generation
        ev.set_marks("rule", marks_for(range(8)))
        await ev.wait_idle()
        column = ev.columns["rule"]
        assert column.generation > generation and not column.decision.learning
        assert column.runner.rule.examples and column.calibration.mode.value == "gold"
        ev.close()

    run(main())


def test_cached_answers_without_states_are_judged_again_when_states_are_kept(tmp_path):
    async def main():
        cache = ResultCache(tmp_path / "cache.sqlite")
        plain = FakeBackend(scorer=poor_answer)  # the same identity, keeping no states
        ev = Evaluator(FRAME, plain, cache)
        ev.set_rule(Rule("a yes", name="rule", learn=True))
        await ev.wait_idle()
        ev.close()
        assert sum(n for _, n in plain.calls) >= N
        fake = backend()
        ev = Evaluator(FRAME, fake, cache)
        ev.set_marks("rule", marks_for(range(LEARN_FROM)))
        ev.set_rule(Rule("a yes", name="rule", learn=True))
        await ev.wait_idle()
        assert sum(n for _, n in fake.calls) >= N  # every row again, for its state
        assert ev.columns["rule"].decision.learned is not None
        ev.close()
        fake = backend()  # now every cached answer has its state: no model call
        ev = Evaluator(FRAME, fake, cache)
        ev.set_marks("rule", marks_for(range(LEARN_FROM)))
        ev.set_rule(Rule("a yes", name="rule", learn=True))
        await ev.wait_idle()
        rows_judged = sum(n for rule, n in fake.calls)
        assert rows_judged < 20  # only content-free probes, never a row
        assert ev.columns["rule"].calibration.mode.value == "learned"
        ev.close()
        cache.close()

    run(main())


def test_below_learn_from_a_new_mark_keeps_the_examples_and_the_judged_rows(tmp_path):
    """Taught by examples, the first marked teach: a mark added later comes after them, so
    the prompt stays and the column comes back from the cache; only the threshold's
    cross-fit judges the labelled rows again. Marked in row order, the rows taught first
    would be displaced by a mark on an earlier row."""
    order = [390, 372, 381, 360, 333, 352, 389, 344, 397, 320]  # 5 yes, 5 no, far down

    async def main():
        cache = ResultCache(tmp_path / "cache.sqlite")
        fake = backend()
        ev = Evaluator(FRAME, fake, cache)
        ev.set_marks("rule", marks_for(order))
        ev.set_rule(Rule("a yes", name="rule", learn=True))
        await ev.wait_idle()
        column = ev.columns["rule"]
        shown = column.runner.rule.examples
        assert not column.decision.learning and len(shown) == 8
        assert [text for text, _ in shown][:2] == ["item: item 390", "item: item 372"]
        judged = sum(n for _, n in fake.calls)
        ev.set_marks("rule", marks_for([*order, 0, 1, 4]))  # rows earlier in the sheet
        await ev.wait_idle()
        column = ev.columns["rule"]
        assert column.runner.rule.examples == shown and column.taught_from == len(order) + 3
        assert sum(n for _, n in fake.calls) - judged < 40  # the cross-fit, not 400 rows
        ev.close()
        cache.close()

    run(main())


def test_a_rule_not_asked_to_learn_is_taught_by_any_number_of_labels():
    """Learning is the user's choice: by default 4 * LEARN_FROM labels still teach the rule
    (examples in the prompt and a threshold), and turning it on learns them."""

    async def main():
        ev = Evaluator(FRAME, backend())
        ev.set_marks("rule", marks_for(range(4 * LEARN_FROM)))
        ev.set_rule(Rule("a yes", name="rule"))
        await ev.wait_idle()
        column = ev.columns["rule"]
        assert not column.decision.learning and column.decision.learned is None
        assert column.runner.rule.examples and column.taught_by == "threshold"
        assert column.taught_from == 4 * LEARN_FROM
        ev.set_rule(replace(column.rule, learn=True))
        await ev.wait_idle()
        column = ev.columns["rule"]
        assert column.decision.learning and column.taught_by == "learned"
        assert not column.runner.rule.examples
        ev.close()

    run(main())


def test_label_next_asks_a_taught_rule_at_random_and_a_learning_one_where_it_is_unsure():
    async def main():
        ev = Evaluator(FRAME, backend())
        ev.set_marks("rule", marks_for(range(0, 64, 2)))
        ev.set_rule(Rule("a yes", name="rule"))
        await ev.wait_idle()
        asked = ev.label_next("rule", 20)
        assert asked == ev.label_next("rule", 20)  # one order: asking again, the same rows
        assert not set(asked) & set(range(0, 64, 2))  # never a labelled row
        assert ev.label_next("rule", 19, skip=asked[:1]) == asked[1:]
        assert 100 < np.mean(asked) < 300  # over the sheet, not its first rows
        column = ev.columns["rule"]
        threshold = column.calibration.threshold
        p = column.result.p_yes()
        near = np.abs(p[asked] - threshold)
        assert np.median(near) > np.quantile(np.abs(p - threshold), 0.2)  # not the unsure ones
        ev.set_rule(replace(column.rule, learn=True))
        await ev.wait_idle()
        column = ev.columns["rule"]
        unsure = ev.label_next("rule", 20)
        assert not set(unsure) & set(range(0, 64, 2)) and unsure != asked
        p = column.result.probs[:, 0]
        assert np.median(np.abs(p[unsure] - 0.5)) < np.median(np.abs(p - 0.5))
        ev.close()

    run(main())


def test_a_label_rule_learns_a_label_the_answers_never_give():
    labels = ("red", "green", "blue")
    truth = np.arange(N) % 3
    states = np.random.default_rng(3).standard_normal((N, 6))
    states[np.arange(N), truth] += 4.0
    probs = np.tile([0.8, 0.15, 0.05], (N, 1))  # the model always says red
    y = np.full(N, np.nan)
    y[:60] = truth[:60]
    learned = learn(probs, states.astype(np.float16), y, Shape.CHOICE)
    assert learned is not None and learned.learned
    has = np.ones(N, dtype=bool)
    decided = np.argmax(learned.probs(probs, states.astype(np.float16), has), axis=1)
    assert np.mean(decided[60:] == truth[60:]) > 0.9
    assert len(labels) == learned.probs(probs, states, has).shape[1]


def test_a_rule_without_states_is_never_learning():
    async def main():
        fake = FakeBackend(scorer=poor_answer)
        ev = Evaluator(FRAME, fake)
        ev.set_marks("rule", marks_for(range(LEARN_FROM)))
        ev.set_rule(Rule("a yes", name="rule", kind=Kind.FLAG, learn=True))
        await ev.wait_idle()
        column = ev.columns["rule"]
        assert not column.decision.learning and column.runner.rule.examples
        ev.close()

    run(main())


def test_labels_of_one_answer_only_teach_by_examples_as_before():
    async def main():
        ev = Evaluator(FRAME, backend())
        ev.set_marks("rule", {r: False for r in range(1, LEARN_FROM * 4, 4)})  # all no
        ev.set_rule(Rule("a yes", name="rule", learn=True))
        await ev.wait_idle()
        column = ev.columns["rule"]
        assert not column.decision.learning and column.runner.rule.examples
        assert column.taught_by == "threshold"
        ev.close()

    run(main())


def test_a_column_taught_from_the_cache_is_idle_only_once_it_has_learned(tmp_path):
    """Labels given at once to a judged column: its next generation comes back whole from
    the cache, and wait_idle returns only after the head is fitted (it fired before)."""

    async def main():
        ev = Evaluator(FRAME, backend(), ResultCache(tmp_path / "cache.sqlite"))
        ev.set_rule(Rule("a yes", name="rule", learn=True))
        await ev.wait_idle()
        ev.set_marks("rule", marks_for(range(LEARN_FROM)))
        await ev.wait_idle()
        column = ev.columns["rule"]
        assert column.complete and not column.decision.fitting
        assert column.taught_by == "learned"
        ev.close()

    run(main())


SCORES = (np.arange(N) * 7 % 5).astype(float)  # each row's true step on a 1-5 scale


def score_state(record: str) -> np.ndarray:
    """Noise, with the true score along one direction of eight."""
    row = row_of(record)
    x = np.random.default_rng(row + 2000).standard_normal(8)
    if row >= 0:
        x[5] += 4.0 * (SCORES[row] - 2)
    return x


def test_a_score_rule_is_taught_by_examples_then_learns_its_marks():
    async def main():
        fake = FakeBackend(scorer=poor_answer, states=score_state)
        ev = Evaluator(FRAME, fake)
        ev.set_rule(Rule("how many", name="score", kind=Kind.SCORE, scale=(1, 5), learn=True))
        await ev.wait_idle()
        column = ev.columns["score"]
        before = column.result.kind.as_labels(
            column.rule, column.result.decide(column.calibration)[0]
        )
        assert np.mean(before == SCORES) < 0.4
        ev.set_marks("score", {r: int(SCORES[r]) + 1 for r in range(8)})  # 1..5, not steps
        await ev.wait_idle()
        column = ev.columns["score"]
        assert not column.decision.learning and column.taught_by == "examples"
        assert {answer for _, answer in column.runner.rule.examples} <= {"1", "2", "3", "4", "5"}
        ev.set_marks("score", {r: int(SCORES[r]) + 1 for r in range(LEARN_FROM)})
        await ev.wait_idle()
        column = ev.columns["score"]
        assert column.decision.learning and column.decision.learned is not None
        assert column.decision.learned.learned and column.calibration.mode.value == "learned"
        assert column.taught_by == "learned"
        values = column.result.decide(column.calibration)[0]
        assert np.nanmin(values) >= 1 and np.nanmax(values) <= 5  # on the scale, not steps
        steps = column.result.kind.as_labels(column.rule, values)
        assert np.mean(steps[LEARN_FROM:] == SCORES[LEARN_FROM:]) > 0.7
        agreement = ev.agreement("score")
        assert agreement is not None and agreement.n == LEARN_FROM
        assert agreement.matches >= 0.7 * LEARN_FROM
        ev.close()

    run(main())


class RowsBackend(FakeBackend):
    """Records the rows of each judged batch."""

    def __init__(self) -> None:
        super().__init__(scorer=poor_answer, states=state_of)
        self.batches: list[list[int]] = []

    def judge(self, rule: Rule, records):
        self.batches.append([row_of(r) for r in records])
        return super().judge(rule, records)


def test_a_learning_column_judges_its_labelled_rows_right_after_the_visible_ones():
    async def main():
        fake = RowsBackend()
        ev = Evaluator(FRAME, fake)
        ev.set_visible(range(3))
        labelled = list(range(N - 2 * LEARN_FROM, N, 2))  # far down the sheet, half yes
        ev.set_marks("rule", marks_for(labelled))
        ev.set_rule(Rule("a yes", name="rule", learn=True))
        await ev.wait_idle()
        column = ev.columns["rule"]
        assert column.decision.learning and column.decision.learned is not None
        judged = [r for rows in fake.batches for r in rows if r >= 0]
        assert sorted(judged) == list(range(N))  # each row once
        assert judged[:3] == [0, 1, 2]  # the visible rows, then the labelled ones
        assert sorted(judged[3 : 3 + len(labelled)]) == labelled
        ev.close()

    run(main())
