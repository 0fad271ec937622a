"""Each generation of a rule column: its rule text, final counts, and a diff between two."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from fastsheet.kinds.rules import Rule
from fastsheet.sheet.summary import Summary

HISTORY_LIMIT = 50  # generations remembered per column
DECISIONS_KEPT = 10  # of which the newest keep their per-row decisions, for diffs


@dataclass
class Generation:
    number: int
    rule: Rule
    summary: Summary | None = None  # final, once complete
    decisions: np.ndarray | None = None  # int8: 1 yes / 0 no / label index; -1 not done

    @property
    def complete(self) -> bool:
        return self.summary is not None


@dataclass(frozen=True)
class Diff:
    """Rows whose decision changed from generation `old` to `new`."""

    old: int
    new: int
    newly_flagged: np.ndarray
    newly_cleared: np.ndarray
    changed: np.ndarray  # every row whose decision differs (any kind)

    def text(self) -> str:
        return f"+{len(self.newly_flagged):,} flagged, −{len(self.newly_cleared):,} cleared"


@dataclass
class History:
    """A bounded list of a column's generations."""

    entries: deque[Generation] = field(default_factory=lambda: deque(maxlen=HISTORY_LIMIT))

    def add(self, generation: int, rule: Rule) -> Generation:
        entry = Generation(generation, rule)
        self.entries.append(entry)
        return entry

    def get(self, generation: int) -> Generation | None:
        return next((g for g in self.entries if g.number == generation), None)

    def complete(self, generation: int, summary: Summary, decisions: np.ndarray) -> None:
        entry = self.get(generation)
        if entry is None:
            return
        entry.summary = summary
        entry.decisions = decisions
        with_arrays = [g for g in self.entries if g.decisions is not None]
        for old in with_arrays[:-DECISIONS_KEPT]:
            old.decisions = None

    def diff(self, old: int, new: int) -> Diff | None:
        a, b = self.get(old), self.get(new)
        if a is None or b is None or a.decisions is None or b.decisions is None:
            return None
        both = (a.decisions >= 0) & (b.decisions >= 0)
        flagged = np.flatnonzero(both & (a.decisions == 0) & (b.decisions == 1))
        cleared = np.flatnonzero(both & (a.decisions == 1) & (b.decisions == 0))
        changed = np.flatnonzero(both & (a.decisions != b.decisions))
        return Diff(old, new, flagged, cleared, changed)


def decision_codes(values: np.ndarray) -> np.ndarray:
    """Compact per-row decisions for the history: NaN becomes -1."""
    out = np.full(len(values), -1, dtype=np.int16)
    ok = ~np.isnan(values)
    out[ok] = np.rint(np.clip(values[ok], -32767, 32767)).astype(np.int16)
    return out
