"""The kinds by name: each kind module registers its one ColumnKind here when imported.

A rule finds its kind here (and so do its results), so the rule and its kinds never
import each other: this module imports nothing of fastsheet, not even for its types,
and `fastsheet.kinds.kind_of` gives the typed answer (a ColumnKind) to everyone else.
`fastsheet.kinds` imports every kind before anyone asks.
"""

from __future__ import annotations

from typing import Any

#: name -> ColumnKind (kinds/base.py); typed loosely here so that no import is needed
KINDS: dict[str, Any] = {}


def register(kind: Any) -> Any:
    """Make `kind` the one `find` gives under its name (`kind.name`); returns it."""
    KINDS[kind.name] = kind
    return kind


def find(rule_or_kind: object) -> Any:
    """The ColumnKind of a rule, a Kind or a kind's name."""
    key = getattr(rule_or_kind, "kind", rule_or_kind)
    return KINDS[getattr(key, "value", key)]
