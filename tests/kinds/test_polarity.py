"""What a flag's yes means: guessed from the rule's words, turned over by the user."""

from __future__ import annotations

import asyncio

import numpy as np
import polars as pl
import pytest

from fastsheet.backends.base import FakeBackend
from fastsheet.data.errors import RuleError
from fastsheet.kinds.polarity import FINDING, GOOD, guess, of
from fastsheet.kinds.rules import Kind, Rule
from fastsheet.sheet.engine import Evaluator


@pytest.mark.parametrize(
    ("text", "good", "noun"),
    [
        ("Flag if merchant category doesn't match customer's typical spending pattern", False, "flagged"),
        ("Flag purchases in a risky {category}: crypto exchange or gift cards.", False, "flagged"),
        ("The reply follows the support policy: it stays polite. Reply: {reply}", True, "on-policy"),
        ("The candidate has 5+ years of backend experience with distributed systems", True, "shortlisted"),
        ("Candidate meets the requirements: 3+ years backend, healthcare preferred", True, "shortlisted"),
        ("The email is spam.", False, "spam"),
        ("The review is positive.", True, "positive"),
        ("The statement is sarcastic.", False, "sarcastic"),
        ("The reply is unsupportive.", False, "unsupportive"),
        ("The answer is correct", True, "correct"),
        ("The customer asks to speak to a human", False, "flagged"),
    ],
)  # fmt: skip
def test_the_polarity_is_guessed_from_the_rule_words(text: str, good: bool, noun: str):
    assert guess(text).good is good
    assert guess(text).noun == noun


def test_the_user_turns_it_over_and_the_answers_keep_their_identity():
    rule = Rule("The reply follows the support policy. Reply: {reply}")
    assert of(rule).good and of(rule).noun == "on-policy"
    turned = Rule(rule.text, yes_means=FINDING)
    assert not of(turned).good and of(turned).noun == "flagged"
    assert of(Rule(rule.text, yes_means=GOOD)).noun == "on-policy"  # the same as the guess
    assert turned.identity() == rule.identity()  # the look, not the answers


def test_the_summary_counts_a_yes_by_the_rule_noun_and_turning_it_over_costs_no_call():
    frame = pl.DataFrame({"reply": [f"reply {i}" for i in range(20)]})
    backend = FakeBackend()
    rule = Rule("The reply follows the support policy. Reply: {reply}", name="on_policy")

    async def main_() -> tuple[str, str, int, int, np.ndarray, np.ndarray]:
        ev = Evaluator(frame, backend)
        ev.set_rule(rule)
        await ev.wait_idle()
        before = ev.summary("on_policy").text()
        values = ev.values_of("on_policy")
        calls = len(backend.calls)
        ev.set_yes_means("on_policy", FINDING)
        await ev.wait_idle()
        after = ev.summary("on_policy").text()
        turned = ev.values_of("on_policy")
        return before, after, calls, len(backend.calls), values, turned

    before, after, calls, calls_after, values, turned = asyncio.run(main_())
    assert " / 20 on-policy (" in before
    assert " / 20 flagged (" in after
    assert calls_after == calls  # no model call
    assert list(values) == list(turned)  # the values (and exports) stay true/false


def test_a_flag_column_the_user_has_not_named_is_named_by_its_rule_noun(tmp_path):
    from fastsheet.session import Session
    from fastsheet.sheet.cache import NoCache

    data = tmp_path / "replies.csv"
    pl.DataFrame({"reply": [f"reply {i}" for i in range(6)]}).write_csv(data)
    session = Session(FakeBackend(), NoCache())
    session.loop = None

    async def main_() -> None:
        session.open(data)
        ev = session.evaluator
        added = session.add_rule().name
        assert added == "flag"
        session.edit(added, text="Reply: {reply}. The reply is unsupportive.")
        assert session.name_by_noun(added) == "unsupportive"
        session.edit("unsupportive", text="The reply follows the support policy: {reply}")
        assert session.name_by_noun("unsupportive") == "on_policy"  # a noun it was given
        assert session.order == ["on_policy"]
        await ev.wait_idle()
        texts = [g.rule.text for g in ev.history("on_policy")]
        assert texts[0].startswith("Flag if") and texts[-1].endswith("{reply}")  # kept
        session.mark("on_policy", 0, True)
        session.edit("on_policy", text="Flag if the {reply} is rude.")
        assert session.name_by_noun("on_policy") == "flagged"
        assert session.marks("flagged") == {0: True}  # the marks go with the name

        with pytest.raises(RuleError):
            session.edit("flagged", text="The {nothing} is spam.")
        assert session.name_by_noun("flagged") == "flagged"  # in error: not renamed
        session.edit("flagged", text="Flag if the {reply} is rude.")
        session.rename("flagged", "rude")  # the user names it: it keeps that name
        session.edit("rude", text="The reply follows the support policy: {reply}")
        assert session.name_by_noun("rude") == "rude"

        other = session.add_rule(text="The reply is polite. {reply}").name
        session.add_rule(Kind.FORMULA, text=f"not {other}", name="impolite")
        assert session.name_by_noun(other) == other  # a formula reads it by that name
        await ev.wait_idle()

    asyncio.run(main_())
