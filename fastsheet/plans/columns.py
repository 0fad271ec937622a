"""What the compiler tells the model about each column, read from the data itself.

Its type; its value set where it is small; whether it is a comma-separated list (and the
items it holds); the range of numbers and dates; the unit its name carries; and whether
it is free text (which no formula reads well).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

from fastsheet.formula.parser import BOOL, DATE, NUMBER, TEXT, dtype_type

MAX_VALUES = 24  # a value set up to this size is listed
MAX_SHOWN_CHARS = 400  # a listed value set is cut here
FREE_TEXT_CHARS = 60  # a text column whose values run longer on average is free text
SAMPLE_ROWS = 5000  # rows read to describe a column

_UNITS = {
    "kg": "kilograms",
    "g": "grams",
    "mg": "milligrams",
    "lb": "pounds",
    "lbs": "pounds",
    "km": "kilometres",
    "m": "metres",
    "cm": "centimetres",
    "mm": "millimetres",
    "usd": "US dollars",
    "eur": "euros",
    "gbp": "pounds sterling",
    "pct": "percent",
    "percent": "percent",
    "years": "years",
    "yrs": "years",
    "months": "months",
    "days": "days",
    "hours": "hours",
    "min": "minutes",
    "minutes": "minutes",
    "s": "seconds",
    "sec": "seconds",
    "ms": "milliseconds",
    "mph": "miles per hour",
    "kmh": "kilometres per hour",
    "c": "degrees Celsius",
    "f": "degrees Fahrenheit",
}


@dataclass(frozen=True)
class ColumnFacts:
    """One column as the compiler describes it."""

    name: str
    type: str  # a formula type: number, text, true/false, date
    values: tuple[str, ...] = ()  # every value, where there are few
    is_list: bool = False  # comma-separated items ("python, sql")
    items: tuple[str, ...] = ()  # a list column's items, where there are few
    low: str = ""  # the smallest number or date
    high: str = ""
    unit: str = ""  # from the name: weight_kg -> kilograms
    free_text: bool = False  # long text: judged, not matched

    def line(self) -> str:
        """One line of the prompt's table description."""
        parts = [f"- {self.name}: {self._kind()}"]
        if self.unit:
            parts.append(f"in {self.unit}")
        if self.low or self.high:
            parts.append(f"from {self.low} to {self.high}")
        if self.is_list and self.items:
            parts.append("items: " + _shown(self.items))
        elif self.values:
            parts.append("values: " + _shown(self.values))
        return ", ".join(parts)

    def _kind(self) -> str:
        if self.is_list:
            return "a comma-separated list of text items"
        if self.free_text:
            return "free text"
        return {NUMBER: "number", TEXT: "text", BOOL: "true/false", DATE: "date"}.get(
            self.type, "value"
        )


def _shown(values: tuple[str, ...]) -> str:
    text = ", ".join(f'"{v}"' for v in values)
    return text if len(text) <= MAX_SHOWN_CHARS else text[:MAX_SHOWN_CHARS] + ", …"


def unit_of(name: str) -> str:
    """The unit a column's name carries, in words ("" for none): weight_kg -> kilograms."""
    words = [w for w in re.split(r"[_\W]+|(?<=[a-z])(?=[A-Z])", name.lower()) if w]
    if len(words) < 2:
        return ""
    return _UNITS.get(words[-1], "")


def describe(frame: pl.DataFrame, skip: tuple[str, ...] = ()) -> list[ColumnFacts]:
    """Facts of every column of `frame` except those in `skip`, read from its first rows."""
    sample = frame.head(SAMPLE_ROWS)
    return [_facts(sample[name]) for name in sample.columns if name not in skip]


def _facts(series: pl.Series) -> ColumnFacts:
    kind = dtype_type(series.dtype)
    name = series.name
    unit = unit_of(name) if kind == NUMBER else ""
    values = series.drop_nulls()
    if kind in (NUMBER, DATE) and len(values):
        low, high = values.min(), values.max()
        distinct = values.unique()
        small = tuple(str(v) for v in distinct.sort()) if len(distinct) <= 12 else ()
        return ColumnFacts(name, kind, small, low=_plain(low), high=_plain(high), unit=unit)
    if kind != TEXT:
        return ColumnFacts(name, kind, unit=unit)
    text = values.cast(pl.String)
    distinct = text.unique()
    items = _list_items(text)
    if items is not None:
        shown = tuple(items) if len(items) <= 3 * MAX_VALUES else ()
        return ColumnFacts(name, kind, is_list=True, items=shown, unit=unit)
    mean_length = float(text.str.len_chars().mean() or 0.0)
    if len(distinct) <= MAX_VALUES:
        return ColumnFacts(name, kind, tuple(sorted(distinct.to_list())), unit=unit)
    return ColumnFacts(name, kind, unit=unit, free_text=mean_length > FREE_TEXT_CHARS)


def _list_items(text: pl.Series) -> list[str] | None:
    """The items of a comma-separated list column, most common first; None if it is not one:
    most values hold a comma, and the items repeat far more than whole values do."""
    if not len(text) or float(text.str.contains(",").mean() or 0.0) < 0.5:
        return None
    items = text.str.split(",").explode().str.strip_chars().rename("item")
    items = items.filter(items != "")
    counts = items.value_counts(sort=True)
    if len(counts) > max(3 * MAX_VALUES, len(text.unique()) // 2):
        return None  # sentences with commas, not lists
    return [str(v) for v in counts["item"].to_list()]


def _plain(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def table_text(facts: list[ColumnFacts]) -> str:
    """The table description the compiler's prompt shows: one line per column."""
    return "\n".join(fact.line() for fact in facts)
