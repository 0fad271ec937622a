"""Label next (Ctrl+Shift+L): the rows whose label would help the selected rule most,
asked one at a time in a bar, answered with Y / N (or a label's digit)."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QAbstractItemView

from fastsheet.kinds import kind_of
from fastsheet.learned import LEARN_FROM
from fastsheet.teach import MIN_LABELS

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
                "Select a flag or label rule column first: Label next asks about its rows.", 6000
            )
            return
        rule = self.session.rule(name)
        if kind_of(rule).thresholded:
            answers: list[tuple[str, str, object]] = [("Yes", "Y", True), ("No", "N", False)]
        else:
            answers = [(label, str(i + 1), label) for i, label in enumerate(rule.labels[:9])]
        self._labelling, self._label_skips = name, set()
        self.label_bar.set_answers(answers)
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
            words.append("learned" if learned.learned else "threshold")
        elif (agreement := ev.agreement(name)) is not None:
            words.append(f"agrees with your labels: {agreement.matches} / {agreement.n}")
        if n < MIN_LABELS:
            words.append(f"{MIN_LABELS - n} more to teach the rule")
        elif n < LEARN_FROM:
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

    def _label_closed(self) -> None:
        self._labelling = self._label_row = None
        self.table.setFocus()

    def _label_event(self, name: str) -> None:
        """The rule being labelled changed (a fit came back): its progress follows."""
        if self._labelling == name and self.label_bar.isVisible():
            self.label_bar.progress.setText(self._label_progress(name))
