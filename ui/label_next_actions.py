"""Label next (Ctrl+Shift+L): the rows whose label would help the selected rule most,
asked one at a time in a bar, answered with Y / N (or a label's digit)."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QAbstractItemView

from fastsheet.kinds import kind_of
from fastsheet.learning.learned import LEARN_FROM
from fastsheet.learning.teach import MIN_LABELS
from ui.label_next_bar import MAX_LABEL_KEYS

RECORD_CHARS = 240  # of the asked row's record shown in the bar (all of it in the tooltip)


class LabelNextActions:
    """A part of MainWindow (mixed in; uses its widgets and session)."""

    _labelling: str | None = None
    _label_row: int | None = None
    _label_skips: set[int]

    def label_next(self) -> None:
        """Open the bar for the selected rule column, or say why not."""
        name = self.selected_rule()
        if self.session is None or name is None or not kind_of(self.session.rule(name)).labelable:
            self.statusBar().showMessage(
                "Select a flag, label or score rule column first: Label next asks about its rows.",
                6000,
            )
            return
        rule = self.session.rule(name)
        self._labelling, self._label_skips = name, set()
        self.label_bar.set_answers(answer_keys(kind_of(rule).mark_choices(rule)))
        self.label_bar.set_learning(rule.learn)
        self.label_bar.open_bar()
        self._ask_next()

    def _ask_next(self) -> None:
        name = self._labelling
        ev = self.session.evaluator if self.session is not None else None
        if name is None or ev is None or name not in ev.columns:
            self.label_bar.close_bar()
            return
        title = f"Label next · {name}"
        rows = ev.label_next(name, 1, sorted(self._label_skips))
        progress = self._label_progress(name)
        if not rows:
            self._label_row = None
            self.label_bar.nothing_to_ask(
                title, "Every judged row is labelled or skipped: wait for more answers.", progress
            )
            return
        row = self._label_row = rows[0]
        column = ev.columns[name]
        record = column.runner.records([row])[0] if column.runner is not None else ""
        col = self.model.rule_column_index(name)
        view_row = int(self.model.view_positions([row])[0])
        said = ""
        if view_row >= 0:
            index = self.model.index(view_row, col)
            self.table.setCurrentIndex(index)
            self.table.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
            said = f"  ·  now {index.data()}"
        text = record if len(record) <= RECORD_CHARS else record[: RECORD_CHARS - 1] + "…"
        self.label_bar.ask(f"{title} · row {row + 1:,}{said}", text, progress)
        self.label_bar.record.setToolTip(record)
        self.label_bar.setFocus()

    def _label_progress(self, name: str) -> str:
        """How many labels the rule has, and how well it agrees with them."""
        ev = self.session.evaluator
        labels = ev.labels(name)
        n = int(np.count_nonzero(~np.isnan(labels))) if labels is not None else 0
        words = [f"{n} label{'s' if n != 1 else ''}"]
        column = ev.columns[name]
        learned = column.decision.learned if column.decision.learning else None
        if learned is not None:
            agreed, total, share = learned.agreement()
            words.append(f"agrees with your labels: {agreed} / {total}, est. {share:.0%}")
            words.append(column.taught_by)
        elif (agreement := ev.agreement(name)) is not None:
            words.append(f"agrees with your labels: {agreement.matches} / {agreement.n}")
        if n < MIN_LABELS:
            words.append(f"{MIN_LABELS - n} more to teach the rule")
        elif n < LEARN_FROM and column.rule.learn and ev.backend.keep_states:
            words.append(f"{LEARN_FROM - n} more to learn it")
        return " · ".join(words)

    def _label_answered(self, value: object) -> None:
        name, row = self._labelling, self._label_row
        if name is None or row is None or self.session is None:
            return
        marks = self.session.marks(name)
        marks[row] = value
        self._set_marks(name, marks)
        self._ask_next()

    def _label_skipped(self) -> None:
        if self._label_row is not None:
            self._label_skips.add(self._label_row)
        self._ask_next()

    def _label_learning(self, on: bool) -> None:
        """The bar's "Learn from labels" was turned: the rule being labelled follows."""
        if self._labelling is not None:
            self.set_learning(self._labelling, on)

    def _label_closed(self) -> None:
        self._labelling = self._label_row = None
        self.table.setFocus()

    def _label_event(self, name: str) -> None:
        """The rule being labelled changed (a fit came back): its progress follows."""
        if self._labelling == name and self.label_bar.isVisible():
            self.label_bar.progress.setText(self._label_progress(name))


def answer_keys(choices: tuple[tuple[str, object], ...]) -> list[tuple[str, str, object]]:
    """(text, key, value) per answer: Y / N for yes and no; a score on a scale within 0-9
    by its own digit; else 1..9 in order (answers past the ninth have a button only)."""
    if all(isinstance(value, bool) for _, value in choices):
        return [(text, text[0].upper(), value) for text, value in choices]
    if all(isinstance(v, int) and 0 <= v <= 9 for _, v in choices):
        return [(text, str(value), value) for text, value in choices]
    return [
        (text, str(i + 1) if i < MAX_LABEL_KEYS else "", value)
        for i, (text, value) in enumerate(choices)
    ]
