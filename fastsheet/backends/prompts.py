"""Prompt for a rule: a shared prefix decoded once, and a per-row suffix around the record.

The shape comes from a Framing (framing.py); labeled examples become earlier chat
turns inside the shared prefix, so they cost nothing per row. The chat template comes
from the model (a `render_chat` callable); a model without one gets a plain completion
prompt. Bump TEMPLATE_VERSION whenever the wording or the way answers are read changes:
it is part of every cache key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastsheet.backends.framing import RECORD, Exchange, Framing, exchange, fence
from fastsheet.data.errors import RuleError
from fastsheet.data.question import Noul
from fastsheet.kinds.rules import Rule

TEMPLATE_VERSION = "4"
DEFAULT_FRAMING = Framing.QUESTION

RenderChat = Callable[[list[dict[str, str]]], str]

# The original system text; kept for the speed benchmark's naive baselines.
SYSTEM = exchange(Noul("x"), Framing.RULE).system


@dataclass(frozen=True)
class Prompt:
    """`prefix` is shared by all rows; a row's prompt is prefix + record + suffix."""

    prefix: str
    suffix: str
    answer_lead: str  # text an answer starts with: "" after a chat turn, " " after "Answer:"
    chat: bool
    fenced: bool = False  # the record sits in tags it must not be able to close

    def record_text(self, record: str) -> str:
        """The record as it goes between prefix and suffix."""
        return fence(record) if self.fenced else record

    def for_record(self, record: str) -> str:
        return self.prefix + self.record_text(record) + self.suffix


def rule_exchange(rule: Rule, framing: Framing) -> Exchange:
    """The exchange that puts the rule's typed question to a local model under `framing`."""
    asked = rule.question()
    if asked is None:
        raise RuleError("A formula column is computed, never put to the model.")
    return exchange(asked, framing)


def messages(rule: Rule, framing: Framing, fold_system: bool = False) -> list[dict[str, str]]:
    """The chat: system, one user/assistant pair per example, then the row's user turn."""
    ex = rule_exchange(rule, framing)
    turns: list[dict[str, str]] = []
    for i, (record, answer) in enumerate(rule.examples):
        shown = fence(record) if ex.fenced else record
        turns.append({"role": "user", "content": ex.turn(i).replace(RECORD, shown)})
        turns.append({"role": "assistant", "content": answer})
    turns.append({"role": "user", "content": ex.turn(len(rule.examples))})
    if fold_system:
        turns[0] = {"role": "user", "content": ex.system + "\n\n" + turns[0]["content"]}
        return turns
    return [{"role": "system", "content": ex.system}, *turns]


def build_prompt(
    rule: Rule, render_chat: RenderChat | None, framing: Framing = DEFAULT_FRAMING
) -> Prompt:
    """Render the rule into a prompt split around the record."""
    ex = rule_exchange(rule, framing)
    fenced = ex.fenced
    if render_chat is not None:
        try:
            rendered = render_chat(messages(rule, framing))
        except Exception:  # a template that rejects a system turn: fold it into the user turn
            rendered = render_chat(messages(rule, framing, fold_system=True))
        if rendered.count(RECORD) == 1:
            prefix, suffix = rendered.split(RECORD)
            return Prompt(prefix, suffix, answer_lead="", chat=True, fenced=fenced)
    shots = "".join(
        ex.turn(i).replace(RECORD, fence(record) if fenced else record) + f"\nAnswer: {answer}\n\n"
        for i, (record, answer) in enumerate(rule.examples)
    )
    last = ex.turn(len(rule.examples))
    prefix, suffix = (ex.system + "\n\n" + shots + last + "\nAnswer:").split(RECORD)
    return Prompt(prefix, suffix, answer_lead=" ", chat=False, fenced=fenced)


def content_free_records(columns: list[str]) -> list[str]:
    """Records with no content, for content-free calibration (Zhao et al., 2021)."""
    if not columns:
        return ["", "N/A"]
    empty = "\n".join(f"{c}: " for c in columns)
    na = "\n".join(f"{c}: N/A" for c in columns)
    dots = "\n".join(f"{c}: ..." for c in columns)
    return [empty, na, dots]
