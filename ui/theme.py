"""How cell states look: text, colours and fonts, for light and dark palettes.

The only place where a Cell value becomes something a person sees.
"""

from __future__ import annotations

import math
import time

from PySide6.QtGui import QBrush, QColor, QFont, QGuiApplication, QPalette

from fastsheet.data.cells import Cell, CellState
from fastsheet.kinds import kind_of, polarity
from fastsheet.kinds.base import FLAG_STYLE, NUMBER_STYLE, TEXT_STYLE, VALUE_STYLE
from fastsheet.kinds.rules import Rule
from fastsheet.sheet.reasons import Reason


def now() -> float:
    return time.monotonic()


_dark: bool | None = None  # asked for every painted cell: kept until the palette changes


def dark() -> bool:
    global _dark
    if _dark is None:
        app = QGuiApplication.instance()
        if app is None:
            return False
        _dark = app.palette().color(QPalette.ColorRole.Base).lightness() < 128
    return _dark


def palette_changed() -> None:
    """Forget the light/dark reading (ui/palette.py calls it when it sets a palette)."""
    global _dark
    _dark = None


def accent() -> QBrush:
    return QBrush(QColor("#7aa7ff") if dark() else QColor("#2f5bd3"))


FLAGGED = "#e5484d"
CLEARED = "#30a46c"


def flag_colors() -> tuple[QColor, QColor]:
    """(flagged, not flagged) base colours; tints are made from them."""
    return QColor(FLAGGED), QColor(CLEARED)


def cell_text(cell: Cell, rule: Rule) -> str:
    if cell.state is CellState.PENDING:
        return "·"
    if cell.state is CellState.RUNNING:
        return "…"
    if cell.state is CellState.ERROR:
        return "⚠ error"
    if cell.state is CellState.SKIPPED:
        return "–"
    value = cell.value
    mark = " ?" if cell.low_confidence else ""
    style = kind_of(rule).style
    if style == FLAG_STYLE:
        return ("✔ yes" if value else "✘ no") + mark
    if style == NUMBER_STYLE and isinstance(value, float):
        return f"{value:.1f}{mark}"
    if style == TEXT_STYLE:
        return str(value or "")
    if style == VALUE_STYLE:
        return value_text(value)
    return f"{value}{mark}"


def value_text(value: object) -> str:
    """An exact value (a formula's): true/false, a number as typed, text as it is."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "✔ true" if value else "✘ false"
    if isinstance(value, float):
        return f"{int(value):,}" if value.is_integer() and abs(value) < 1e15 else f"{value:,.4g}"
    return str(value)


def skip_reason(rule: Rule, implied: tuple[str, list[str]]) -> str:
    """Why a rule column skips rows: its condition, or the formulas that do not need them."""
    condition, readers = implied
    parts = [f"the row is outside the condition (only where {rule.where})"] if rule.where else []
    if condition:
        parts.append(needed_only_where(condition, readers))
    return " and ".join(parts) or "the row is outside the condition"


def needed_only_where(condition: str, readers: list[str]) -> str:
    """ "shortlist needs this rule only where senior_python" (the short-circuit)."""
    named = ", ".join(readers) or "the formulas reading it"
    return f"{named} {'needs' if len(readers) == 1 else 'need'} this rule only where {condition}"


def label_text(value: object, rule: Rule) -> str:
    """A known answer the user marked, as the labels column shows it."""
    if kind_of(rule).style == FLAG_STYLE:
        return "✔ yes" if value else "✘ no"
    return str(value)


def cell_tooltip(cell: Cell, rule: Rule, implied: tuple[str, list[str]] = ("", [])) -> str | None:
    if cell.state is CellState.ERROR:
        return f"Error: {cell.error}"
    if cell.state is CellState.PENDING:
        return "Waiting to be judged"
    if cell.state is CellState.RUNNING:
        return "Being judged now"
    if cell.state is CellState.SKIPPED:
        return f"Skipped: {skip_reason(rule, implied)}; no model call"
    if kind_of(rule).style == TEXT_STYLE:
        return str(cell.value or "")
    if cell.p is None:
        return None
    tip = f"{cell_text(cell, rule).rstrip(' ?')} — probability {cell.p:.0%}"
    if cell.low_confidence:
        tip += " — low confidence: close to the decision threshold"
    return tip


def flash_color() -> QColor:
    """The highlight of a row whose decision just flipped."""
    return QColor("#6b5a12") if dark() else QColor("#fff2a8")


def found_brush() -> QBrush:
    """The highlight of a cell that matches the search."""
    return QBrush(QColor("#8a5a00") if dark() else QColor("#ffd08a"))


def cell_background(cell: Cell, rule: Rule, flashing: bool = False) -> QBrush | None:
    is_dark = dark()
    if flashing:
        return QBrush(flash_color())
    if cell.state is CellState.ERROR:
        return QBrush(QColor("#6e1f1f") if is_dark else QColor("#fde2e1"))
    style = kind_of(rule).style
    if cell.state is not CellState.DONE or style == TEXT_STYLE:
        return None
    if style == VALUE_STYLE and not isinstance(cell.value, bool):
        return None  # numbers and text from a formula: plain, like data
    strength = 0.35 if cell.p is None else max(0.15, min(1.0, (cell.p - 0.5) * 2))
    if style in (FLAG_STYLE, VALUE_STYLE):
        flagged, cleared = flag_colors()
        # the finding stands out in red: a yes, or a no where a yes is the good outcome
        finding = bool(cell.value) != (style == FLAG_STYLE and polarity.of(rule).good)
        base = flagged if finding else cleared
        if not finding:
            strength *= 0.45  # rows that pass stay calm; findings stand out
    else:
        base = QColor("#3e63dd")
    color = QColor(base)
    color.setAlphaF(0.10 + 0.35 * strength if not is_dark else 0.18 + 0.45 * strength)
    return QBrush(color)


def cell_foreground(cell: Cell) -> QBrush | None:
    if cell.state in (CellState.PENDING, CellState.RUNNING, CellState.SKIPPED):
        return muted_brush()
    if cell.state is CellState.ERROR:
        return error_brush()
    return None


def cell_font(cell: Cell) -> QFont | None:
    if cell.state is CellState.RUNNING or (cell.state is CellState.DONE and cell.low_confidence):
        return italic_font()
    return None


def reason_text(reason: Reason) -> str:
    """A reason as its cell shows it; one that argues the other way says so first."""
    return f"⚠ reason disagrees: {reason.text}" if reason.disagrees else reason.text


def reason_tooltip(reason: Reason) -> str:
    head = f"Why {reason.verdict}: {reason.text}"
    if reason.disagrees:
        head += (
            "\n⚠ The reason argues for another answer than the verdict: the model is unsure "
            "of this row. Check it, and mark the right answer (Y / N) to teach the rule."
        )
    return head


def error_brush() -> QBrush:
    return QBrush(QColor("#ff9592") if dark() else QColor("#a51d22"))


def muted_brush() -> QBrush:
    return QBrush(QColor("#9a9ea8") if dark() else QColor("#60646c"))


def italic_font() -> QFont:
    font = QFont()
    font.setItalic(True)
    return font


def data_text(value: object) -> str:
    """How a data cell shows its value: empty for null or NaN, numbers with separators."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return f"{value:,.2f}" if abs(value) < 1e15 else f"{value:g}"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
