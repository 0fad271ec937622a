"""Reasons on demand (reasons.py): queued behind verdicts, kept per verdict, dropped by an
edit or a cancel; and how a reason that argues the other way is told apart."""

from __future__ import annotations

import asyncio
import re

import polars as pl

from fastsheet.backends.base import FakeBackend
from fastsheet.kinds.rules import Kind, Rule
from fastsheet.sheet.engine import Evaluator
from fastsheet.sheet.reasons import REASON, disagrees, one_line, reason_input, verdict_text

N = 40
FRAME = pl.DataFrame({"item": [f"item {i}" for i in range(N)]})


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


class Writer(FakeBackend):
    """Yes for even items; a reason that names the row."""

    def __init__(self) -> None:
        super().__init__(
            scorer=lambda rule, rec: 0.9 if rec.endswith(("0", "2", "4", "6", "8")) else 0.1
        )
        self.reason_rows: list[str] = []

    def judge(self, rule, records):
        if rule.kind is Kind.TEXT:
            self.reason_rows += list(records)
            out = []
            for a, r in zip(super().judge(rule, records), records, strict=True):
                verdict = "Yes" if "\nAnswer: Yes" in r else "No"
                out.append(type(a)(value=f"{verdict}, because {r.splitlines()[1]}", p=None))
            return out
        return super().judge(rule, records)


def test_reasons_follow_their_verdicts_and_go_with_an_edit():
    async def main():
        backend = Writer()
        ev = Evaluator(FRAME, backend)
        ev.set_rule(Rule("An even item.", name="even"))
        await ev.wait_idle()
        assert ev.explain("even", [0, 1, 2]) == 3
        assert ev.explaining("even", 1)
        await ev.wait_idle()
        reasons = [ev.reason("even", r) for r in (0, 1, 2)]
        assert [r.verdict for r in reasons] == ["Yes", "No", "Yes"]
        assert reasons[1].text == "No, because item: item 1" and not reasons[1].disagrees
        assert ev.explain("even", [0, 1]) == 0  # known: nothing asked again
        # a verdict that changes (the threshold dragged past every row) drops its reason
        ev.set_threshold("even", 0.95)
        assert ev.reason("even", 0) is None and ev.reason("even", 1) is not None
        asked = len(backend.reason_rows)
        ev.set_threshold("even", None)
        assert ev.reason("even", 0).verdict == "Yes"  # the same verdict: shown again
        assert len(backend.reason_rows) == asked
        # an edit drops them all
        ev.set_rule(Rule("An even item, please.", name="even"))
        await ev.wait_idle()
        assert ev.reason("even", 0) is None
        ev.close()

    run(main())


def test_reasons_wait_behind_verdicts_and_a_cancel_drops_them():
    async def main():
        backend = Writer()
        ev = Evaluator(FRAME, backend)
        ev.set_rule(Rule("An even item.", name="even"))
        await ev.wait_idle()
        ev.set_rule(Rule("An odd item.", name="odd"))  # verdicts to judge ...
        ev.explain("even", [3])  # ... ahead of this reason
        await ev.wait_idle()
        assert ev.reason("even", 3) is not None
        order = [rule for rule, _ in backend.calls]
        assert order.index(REASON.text) > max(
            i for i, text in enumerate(order) if text == "An odd item."
        )
        ev.set_rule(Rule("An odd item, or not.", name="odd"))
        ev.explain("even", [5, 7])
        ev.cancel()
        assert not ev.explaining("even", 5)
        await ev.wait_idle()
        assert ev.reason("even", 5) is None
        ev.close()

    run(main())


def test_a_reason_that_opens_with_another_answer_disagrees():
    assert disagrees("No, the reply offers help first.", "Yes", ("Yes", "No"))
    assert not disagrees("Yes: it asks for a human.", "Yes", ("Yes", "No"))
    assert not disagrees("The reply refuses politely.", "No", ("Yes", "No"))
    assert disagrees(
        "billing - the customer asks about a refund", "technical", ("billing", "technical")
    )
    assert one_line('\n "Yes, it is spam."\nMore text') == "Yes, it is spam."
    assert verdict_text(Rule("x"), True) == "Yes"
    assert verdict_text(Rule("x", kind=Kind.LABEL, labels=("a", "b")), "b") == "b"
    # the reason reads the row's record, the rule (its references as words) and the verdict
    text = reason_input(Rule("Is {review} kind?"), "review: Lovely staff.", "Yes")
    assert text.startswith("Text:\nreview: Lovely staff.\n")
    assert 'Rule: "Is review kind?"\nAnswer: Yes' in text


def test_the_default_tier_writes_reasons_that_quote_their_rows(default_backend):
    """Three support messages under a refund rule: each reason is one line, opens with
    its verdict and names something of its own row."""
    from fastsheet.kinds.results import DONE

    messages = [
        "I want a refund. I don't have the order number, just refund me.",
        "How do I change the delivery address on order #51190?",
        "My card was charged twice for order #47720.",
    ]
    frame = pl.DataFrame({"message": messages})

    async def main():
        ev = Evaluator(frame, default_backend)
        ev.set_rule(Rule("The customer asks for a refund. Message: {message}", name="refund"))
        await ev.wait_idle()
        assert all(ev.columns["refund"].result.state == DONE)
        assert ev.explain("refund", [0, 1, 2]) == 3
        await ev.wait_idle()
        for row, message in enumerate(messages):
            reason = ev.reason("refund", row)
            assert reason is not None and reason.text and "\n" not in reason.text
            assert reason.text.startswith(reason.verdict) and not reason.disagrees
            said = set(re.findall(r"[a-z0-9]{4,}", reason.text.lower()))
            rule_words = {"customer", "asks", "refund", "message", "because", "text", "answer"}
            assert said & (set(re.findall(r"[a-z0-9]{4,}", message.lower())) - rule_words), reason
        ev.close()

    run(main())
