"""Rules and their kinds: what a rule column is and how each kind asks, decides and counts.

`rules` (Rule, Kind), one module per kind (flag, label, score, text, formula), each
registered by name (`registry`), the results a kind keeps (`results`), and what a
flag's yes means (`polarity`). A kind asks a typed question (`fastsheet.data.question`);
how that question is worded for a model is the backends' business. It may import
`formula`, `stats` and `data`.
"""

from __future__ import annotations

from fastsheet.kinds.base import ColumnKind
from fastsheet.kinds.flag import FLAG
from fastsheet.kinds.formula import FORMULA
from fastsheet.kinds.label import LABEL
from fastsheet.kinds.registry import KINDS as _REGISTERED
from fastsheet.kinds.registry import find
from fastsheet.kinds.rules import Kind, Rule
from fastsheet.kinds.score import SCORE
from fastsheet.kinds.text import TEXT

KINDS: dict[str, ColumnKind] = _REGISTERED


def kind_of(rule_or_kind: Rule | Kind | str) -> ColumnKind:
    """The ColumnKind of a rule, a Kind or a kind's name."""
    return find(rule_or_kind)


__all__ = ["FLAG", "FORMULA", "KINDS", "LABEL", "SCORE", "TEXT", "ColumnKind", "kind_of"]
