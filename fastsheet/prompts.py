"""Prompt for a rule: a shared prefix decoded once, and a per-row suffix around the record.

The chat template comes from the model (a `render_chat` callable); a model without
one gets a plain completion prompt. Bump TEMPLATE_VERSION whenever the wording or
the way answers are read changes: it is part of every cache key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastsheet.rules import Kind, Rule

TEMPLATE_VERSION = "2"

RenderChat = Callable[[list[dict[str, str]]], str]

_SENTINEL = "\u2063RECORD\u2063"

SYSTEM = (
    "You judge one data record at a time against the user's rule. "
    "Names in {braces} refer to the record's fields. Reply with the answer only."
)


def _instruction(rule: Rule) -> str:
    if rule.kind is Kind.FLAG:
        return "Does the rule hold for the record? Answer Yes or No."
    if rule.kind is Kind.LABEL:
        return (
            "Labels: "
            + ", ".join(rule.labels)
            + "\nAnswer with the one label that fits the record."
        )
    if rule.kind is Kind.SCORE:
        lo, hi = rule.scale
        return f"Rate the record on a scale from {lo} to {hi}. Answer with one whole number."
    return "Give only the answer."


@dataclass(frozen=True)
class Prompt:
    """`prefix` is shared by all rows; a row's prompt is prefix + record + suffix."""

    prefix: str
    suffix: str
    answer_lead: str  # text an answer starts with: "" after a chat turn, " " after "Answer:"
    chat: bool

    def for_record(self, record: str) -> str:
        return self.prefix + record + self.suffix


def build_prompt(rule: Rule, render_chat: RenderChat | None) -> Prompt:
    """Render the rule into a prompt split around the record."""
    head = "Task" if rule.kind is Kind.TEXT else "Rule"
    user = f"{head}: {rule.text}\n{_instruction(rule)}\n\nRecord:\n{_SENTINEL}"
    if render_chat is not None:
        try:
            rendered = render_chat(
                [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]
            )
        except Exception:  # a template that rejects a system turn: fold it into the user turn
            rendered = render_chat([{"role": "user", "content": SYSTEM + "\n\n" + user}])
        if rendered.count(_SENTINEL) == 1:
            prefix, suffix = rendered.split(_SENTINEL)
            return Prompt(prefix=prefix, suffix=suffix, answer_lead="", chat=True)
    prefix, suffix = (SYSTEM + "\n\n" + user + "\nAnswer:").split(_SENTINEL)
    return Prompt(prefix=prefix, suffix=suffix, answer_lead=" ", chat=False)


def content_free_records(columns: list[str]) -> list[str]:
    """Records with no content, for content-free calibration (Zhao et al., 2021)."""
    if not columns:
        return ["", "N/A"]
    empty = "\n".join(f"{c}: " for c in columns)
    na = "\n".join(f"{c}: N/A" for c in columns)
    dots = "\n".join(f"{c}: ..." for c in columns)
    return [empty, na, dots]
