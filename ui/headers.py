"""What the grid's column headers say: a rule's kind, how it is taught and what a yes means,
and the headers of a rule's labels and reasons columns (text and tooltips)."""

from __future__ import annotations

from PySide6.QtCore import Qt

from fastsheet.kinds import kind_of, polarity
from fastsheet.kinds.rules import Rule
from fastsheet.learning.learned import LEARN_FROM
from fastsheet.learning.teach import MIN_LABELS
from fastsheet.sheet.column import Column
from ui import theme

_DISPLAY = Qt.ItemDataRole.DisplayRole
_TOOLTIP = Qt.ItemDataRole.ToolTipRole


def reasons_header(name: str, rule: str, role: int):
    if role == _DISPLAY:
        return f"{name}\n? reasons"
    if role == _TOOLTIP:
        return (
            f"Why {rule!r} decided each row, in the model's words: select its cells and "
            "press ? (or right-click → Why?). A reason is kept for the verdict it "
            "explains; one that argues the other way is marked. Right-click this "
            "header to hide the column."
        )
    return None


def labels_header(name: str, rule: str, marked: int, role: int):
    if role == _DISPLAY:
        return f"{name}\n✎ {marked} marked"
    if role == _TOOLTIP:
        return (
            f"The right answers you marked for {rule!r} (Y: the answer is right, "
            "N: it is wrong). They teach the rule; the model never reads this column."
        )
    return None


def rule_header(name: str, column: Column | None, role: int):
    """A rule column's header: its kind, how its labels teach it, what a yes means."""
    if role == _DISPLAY:
        kind = column.rule.kind.value if column else "rule"
        taught = column.taught_from if column else 0
        look = f" · {yes_line(column.rule)}" if column and kind_of(column.rule).polar else ""
        if taught >= MIN_LABELS:
            by = f" · {column.taught_by}" if column and column.taught_by else ""
            return f"{name}\n✦ {kind} · taught from {taught:,} labels{by}{look}"
        return f"{name}\n✦ {kind}{look}"
    if role == _TOOLTIP:
        if column is None:
            return name
        rule = column.rule
        tip = f"Rule column {name!r} ({rule.kind.value}): {rule.text}"
        if kind_of(rule).polar:
            good = polarity.of(rule).good
            tip += (
                f"\n{'A yes is the good outcome (green)' if good else 'A yes is a finding to look at (red)'}"
                " — click the second line of this header to turn it over."
            )
        if column.taught_by:
            tip += "\n" + taught_tip(column)
        return tip
    if role == Qt.ItemDataRole.ForegroundRole:
        return theme.accent()
    return None


def yes_line(rule: Rule) -> str:
    """How a flag header says what a yes means: "⚑ yes = flagged", "✓ yes = on-policy"."""
    look = polarity.of(rule)
    return f"{'✓' if look.good else '⚑'} yes = {look.noun}"


def taught_tip(column) -> str:
    """How the column's labels decide it, in words (the header's tooltip)."""
    n = column.taught_from
    learned = column.decision.learned
    if column.taught_by == "learning":
        return f"Learning from your {n} labels: waiting for the labelled rows' answers."
    if learned is not None:
        agreed, total, share = learned.agreement()
        held = f"agrees with your labels, each held out: {agreed} / {total}, est. {share:.0%}"
        if learned.learned:
            return f"Learned from your {n} labels over the model's reading of each row ({held})."
        return (
            f"Your {n} labels recalibrate the model's answer: learning from its reading of "
            f"the rows did not beat that on them yet ({held})."
        )
    later = f" With a local model it learns them from {LEARN_FROM}." if column.rule.learn else ""
    if column.taught_by == "examples":
        return f"Taught from {n} labels: examples in the prompt.{later}"
    return f"Taught from {n} labels: examples in the prompt and a threshold fitted on them.{later}"
