"""The text kind: a short free answer per row; the rule is the model's instruction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from fastsheet.data.errors import RuleError
from fastsheet.data.question import Generate
from fastsheet.kinds.base import TEXT_STYLE, ColumnKind
from fastsheet.kinds.registry import register
from fastsheet.kinds.rules import Rule


@dataclass(frozen=True)
class TextSummary:
    total: int
    done: int
    skipped: int = 0

    def text(self) -> str:
        text = f"{self.done:,} / {self.total:,} answered"
        return text + (f" · {self.skipped:,} skipped" if self.skipped else "")


class TextKind(ColumnKind):
    name = "text"
    base_name = "text"
    default_text = "Summarise the record in a few words."
    summary = "text: a short answer"
    style = TEXT_STYLE
    stores_text = True

    def check(self, rule: Rule) -> dict[str, object]:
        if not 1 <= rule.max_tokens <= 512:
            raise RuleError("A text rule's answer length must be between 1 and 512 tokens.")
        return {}

    def make(self, text: str, name: str, options: Mapping[str, str], base: Rule | None) -> Rule:
        tokens = base.max_tokens if base else 48
        return Rule(
            text, name=name, kind=self.kind, max_tokens=tokens, where=options.get("where", "")
        )

    def identity(self, rule: Rule) -> dict[str, object]:
        return {"max_tokens": rule.max_tokens}

    def question(self, rule: Rule) -> Generate:
        return Generate(rule.text, rule.max_tokens)

    def summarize(
        self,
        values: np.ndarray,
        total: int,
        candidates: tuple[str, ...],
        exact: np.ndarray | None,
        skipped: int = 0,
    ) -> TextSummary:
        return TextSummary(total - skipped, len(values), skipped)


TEXT = register(TextKind())
