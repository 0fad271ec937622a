"""Column kinds, one module each; `kind_of` finds the one a rule (or Kind) belongs to."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastsheet.kinds.base import ColumnKind
from fastsheet.kinds.flag import FLAG
from fastsheet.kinds.formula import FORMULA
from fastsheet.kinds.label import LABEL
from fastsheet.kinds.score import SCORE
from fastsheet.kinds.text import TEXT

if TYPE_CHECKING:
    from fastsheet.rules import Kind, Rule

KINDS: dict[str, ColumnKind] = {k.name: k for k in (FLAG, LABEL, SCORE, TEXT, FORMULA)}


def kind_of(rule_or_kind: Rule | Kind | str) -> ColumnKind:
    """The ColumnKind of a rule, a Kind or a kind's name."""
    key = getattr(rule_or_kind, "kind", rule_or_kind)
    return KINDS[getattr(key, "value", key)]  # type: ignore[arg-type]


__all__ = ["KINDS", "ColumnKind", "kind_of"]
