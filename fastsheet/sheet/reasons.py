"""A reason on demand: one short line, written by the model, on why a row's verdict is what
it is.

A reason is asked of the same model as a text question (`REASON`), whose input is the
row's record, the rule and the verdict the column shows, with the instruction to start
with that verdict and quote what in the row decides it. It is cached like an answer,
keyed by the rule, the verdict and the row (all three are its input), so a verdict that
changes asks a new reason. A small model sometimes argues the other way: a reason
whose first words state another answer than the verdict `disagrees`, and the app shows
it so ("reason disagrees") rather than hiding it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from fastsheet.data.cells import Answer
from fastsheet.kinds import kind_of
from fastsheet.kinds.rules import Kind, Rule
from fastsheet.sheet.runner import RuleRunner

MAX_TOKENS = 40  # one short line
SUFFIX = "_why"  # the reasons column's name: NAME_why


@dataclass(frozen=True)
class Reason:
    """A row's reason, for the verdict it was asked about."""

    verdict: str  # as the model was told it: Yes / No, the label, the score
    text: str
    disagrees: bool  # its first words state another answer than `verdict`


#: the text question every reason is written under; the row, the rule and the verdict
#: are its input (its user turn), so the cache keys a reason by all three
REASON = Rule(
    "You explain, in one short line, why a rule gave a text its answer, quoting the words "
    "of the text that decide it.",
    name="why",
    kind=Kind.TEXT,
    max_tokens=MAX_TOKENS,
)


def reason_input(rule: Rule, record: str, verdict: str) -> str:
    """What the model reads to write one reason: the row's record, then the rule, the
    verdict and the question (after the record, where a small model heeds it; measured
    on the support messages: the 1.5B quoted the row in 8 of 10 reasons this way, 3 of 10
    with the question as its instruction)."""
    plain = re.sub(r"\{([^{}]+)\}", r"\1", rule.text)
    return (
        f'Text:\n{record}\n\nRule: "{plain}"\nAnswer: {verdict}\n\nWhy is the answer '
        f'{verdict}? Say it in one short line that starts with "{verdict}, because" and '
        "quotes the words of the text that decide it."
    )


def verdict_text(rule: Rule, value: object) -> str:
    """A decided value as the reason question states it (a flag's Yes / No)."""
    return rule.answer_text(value)  # type: ignore[arg-type]


def answers_of(rule: Rule) -> tuple[str, ...]:
    """Every verdict a reason could state for this rule, as `verdict_text` writes them."""
    kind = kind_of(rule)
    if kind.thresholded:
        return (rule.answer_text(True), rule.answer_text(False))
    return tuple(rule.labels) if kind.labelable else ()


def disagrees(text: str, verdict: str, answers: Sequence[str]) -> bool:
    """Whether a reason opens by stating another of `answers` than `verdict`."""
    opening = _words(text)[:3]
    own = _words(verdict)
    for other in answers:
        words = _words(other)
        if other != verdict and words and opening[: len(words)] == words:
            return not (own and opening[: len(own)] == own)
    return False


def one_line(text: str) -> str:
    """The reason as shown: its first line, without quotes around it."""
    line = next((part.strip() for part in text.strip().splitlines() if part.strip()), "")
    return line.strip('"').strip()


def reason_of(answer: Answer, verdict: str, answers: Sequence[str]) -> Reason:
    text = one_line(str(answer.value or ""))
    return Reason(verdict, text, disagrees(text, verdict, answers))


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


class ReasonWriter:
    """Writes a column's reasons on the model thread, through the cache: the rows it is
    asked about, each with the verdict it showed when asked (`verdicts`, set on the loop)."""

    def __init__(self, rule: Rule, runner: RuleRunner) -> None:
        self.rule = rule
        self.runner = runner  # the column's: its frame, record columns, backend and cache
        self.verdicts: dict[int, str] = {}

    def reasons(self, rows: Sequence[int]) -> list[Reason]:
        """One reason per row, in order."""
        answers = answers_of(self.rule)
        records = self.runner.records(rows)
        verdicts = [self.verdicts[row] for row in rows]
        texts = [reason_input(self.rule, r, v) for r, v in zip(records, verdicts, strict=True)]
        written = self.runner.judge_texts(texts, REASON)
        return [reason_of(a, v, answers) for a, v in zip(written, verdicts, strict=True)]
