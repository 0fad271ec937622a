"""Typed questions: the one contract between a rule and whoever judges it.

Each kind turns its rule into one of these, in the shape of the System One (Jev) API:
`Noul` (yes/no, answered as p(yes)), `Choice` (one of several described options),
`Score` (an ordered scale of levels) and `Generate` (free text). A backend renders a
question its own way: the llama.cpp backend as a prompt under its framing
(`framing.exchange`), an OpenAI-style server as chat turns, a System One server as it is
(`jev`). The state a question is asked of is the row: its referenced columns as a JSON
record, or the record text when the rule names none (`state`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: Jev's limits on a score question's levels
MIN_LEVELS, MAX_LEVELS = 2, 10


@dataclass(frozen=True)
class Noul:
    """Yes or no: the rule as the user wrote it, and optionally what each answer means."""

    instructions: str
    true: str = ""
    false: str = ""

    def jev(self) -> dict[str, object]:
        out: dict[str, object] = {"type": "noul", "instructions": self.instructions}
        criteria = {k: v for k, v in (("true", self.true), ("false", self.false)) if v}
        return out | ({"criteria": criteria} if criteria else {})


@dataclass(frozen=True)
class Choice:
    """One of `options`; `descriptions[i]` says what option i means ("" for none)."""

    instructions: str
    options: tuple[str, ...]
    descriptions: tuple[str, ...] = ()

    def described(self) -> list[tuple[str, str]]:
        """(option, description or "") pairs, in order."""
        notes = tuple(self.descriptions) + ("",) * (len(self.options) - len(self.descriptions))
        return list(zip(self.options, notes, strict=False))

    def jev(self) -> dict[str, object]:
        criteria = {option: (note or None) for option, note in self.described()}
        return {"type": "choice", "instructions": self.instructions, "criteria": criteria}


@dataclass(frozen=True)
class Score:
    """A whole number from `low` to `high`, the scale's levels in order."""

    instructions: str
    low: int
    high: int

    @property
    def levels(self) -> tuple[str, ...]:
        return tuple(str(v) for v in range(self.low, self.high + 1))

    def jev(self) -> dict[str, object]:
        n = len(self.levels)
        if not MIN_LEVELS <= n <= MAX_LEVELS:
            raise ValueError(
                f"a System One score question takes {MIN_LEVELS} to {MAX_LEVELS} levels; the "
                f"scale {self.low}-{self.high} has {n}: narrow it (e.g. 1-5) or use a local model"
            )
        criteria = [_level(v, self.low, self.high) for v in range(self.low, self.high + 1)]
        return {"type": "score", "instructions": self.instructions, "criteria": criteria}


@dataclass(frozen=True)
class Generate:
    """Free text: the rule is the instruction, the row the input, at most `max_tokens`."""

    instructions: str
    max_tokens: int


Question = Noul | Choice | Score | Generate


def _level(value: int, low: int, high: int) -> str:
    if value == low:
        return f"{value} (lowest)"
    return f"{value} (highest)" if value == high else str(value)


def state(columns: Sequence[str], record: str, named: bool) -> str | dict[str, str]:
    """The state a row is asked as: a JSON record of `columns` when the rule names them
    (`named`), else the record text. `record` is the row's text, one `column: value` line
    per column (table.records), which is read back here."""
    if not named:
        return record
    lines = record.split("\n")
    if len(lines) != len(columns):
        return record
    out: dict[str, str] = {}
    for name, line in zip(columns, lines, strict=True):
        head = f"{name}: "
        out[name] = line[len(head) :] if line.startswith(head) else line.removeprefix(f"{name}:")
    return out
