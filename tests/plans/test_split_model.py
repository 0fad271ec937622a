"""Split into steps on five compound rules, run with the real model: every proposal makes
valid columns that evaluate without error, the model judges only the rows the exact parts
keep, and the combination is their `and`."""

from __future__ import annotations

import asyncio

import numpy as np
import polars as pl
import pytest

from fastsheet.kinds import kind_of
from fastsheet.kinds.rules import Rule
from fastsheet.plans.split import propose_split
from fastsheet.sheet.engine import Evaluator
from tests.conftest import ROOT
from tests.helpers import CountingBackend

CASES = [
    ("resources/samples/candidates.csv", "At least 5 years of experience with Python, and has led a team", ("qualifies",)),
    ("bench/data/reviews.csv", "The review is from yelp and is positive.", ("gold",)),
    ("bench/data/reviews.csv", "The review is positive and is shorter than 60 characters.", ("gold",)),
    ("bench/data/sarcasm.csv", "The statement is sarcastic and is longer than 80 characters.", ("gold",)),
    ("bench/data/spam_emails.csv", "The email is spam and the body is shorter than 200 characters.", ("gold",)),
]  # fmt: skip


@pytest.mark.parametrize(("path", "text", "drop"), CASES, ids=[c[1][:30] for c in CASES])
def test_a_split_compound_rule_runs_with_the_real_model(backend, path, text, drop):
    frame = pl.read_csv(ROOT / path).drop(*drop).sample(16, seed=3)
    split = propose_split(Rule(text, name="compound"), frame)
    assert split.ok, split.reason
    counting = CountingBackend(backend)

    async def main() -> Evaluator:
        ev = Evaluator(frame, counting)
        for step in split.steps:
            ev.set_rule(step.rule())
        await ev.wait_idle(timeout=300)
        return ev

    ev = asyncio.run(main())
    assert all(c.error is None for c in ev.columns.values()), {
        n: c.error for n, c in ev.columns.items()
    }
    exact = [s for s in split.steps[:-1] if not kind_of(s.kind).judged]
    fuzzy = [s for s in split.steps[:-1] if kind_of(s.kind).judged]
    kept = np.logical_and.reduce([ev.values_of(s.name).to_numpy() for s in exact])
    for step in fuzzy:
        states = [ev.cell(step.name, r).state.value for r in range(frame.height)]
        assert [s == "skipped" for s in states] == list(~kept)  # never asked outside
        assert all(s == "done" for s, k in zip(states, kept, strict=True) if k)
    judged = counting.rows - 3 * len(fuzzy)  # content-free probes apart
    assert judged <= int(kept.sum()) * len(fuzzy)
    combined = ev.values_of("compound").fill_null(False).to_numpy()
    fuzzy_values = [ev.values_of(s.name).fill_null(False).to_numpy() for s in fuzzy]
    assert (combined == np.logical_and.reduce([kept, *fuzzy_values])).all()
    ev.close()
