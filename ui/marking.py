"""Teach by example: mark result cells right or wrong (Y / N / U) and teach the rule."""

from __future__ import annotations

from PySide6.QtWidgets import QMenu

from fastsheet.data.cells import CellState
from fastsheet.kinds import kind_of
from fastsheet.kinds.base import FLAG_STYLE
from fastsheet.learning.teach import MIN_LABELS
from ui.sheet_model import cell_of


class Marking:
    """A part of MainWindow (mixed in; uses its widgets and session)."""

    def _marking_target(self) -> tuple[str, list[int]] | None:
        """The rule column of the current cell, and the selected rows in it."""
        if self.model is None:
            return None
        current = self.table.currentIndex()
        if not current.isValid() or not self.model.is_rule_column(current.column()):
            return None
        name = self.model.column_name(current.column())
        if not kind_of(self.session.rule(name)).labelable:
            return None
        rows = sorted(
            {
                i.row()
                for i in self.table.selectionModel().selectedIndexes()
                if i.column() == current.column()
            }
            | {current.row()}
        )
        return name, rows

    def mark_selected(self, right: bool, label: object = None) -> bool:
        """Mark the selected cells of a rule column right (Y) or wrong (N); True if handled."""
        target = self._marking_target()
        if target is None:
            return False
        name, view_rows = target
        rule = self.session.rule(name)
        col = self.model.rule_column_index(name)
        marks = self.session.marks(name)
        kind = kind_of(rule)
        for view_row in view_rows:
            cell = cell_of(self.model.index(view_row, col))
            if cell is None or cell.state is not CellState.DONE:
                continue
            if kind.style == FLAG_STYLE:
                value: object = bool(cell.value) if right else not bool(cell.value)
            elif right:
                value = cell.value
            elif label is not None:
                value = label
            else:
                self._choose_label(name, view_row)
                return True
            try:  # as the answer it stands for: a score's 3.4 is marked as 3
                marks[self.model.row_id(view_row)] = kind.decode(rule, kind.encode(rule, value))
            except ValueError:
                continue
        self._set_marks(name, marks)
        return True

    def teach_now(self) -> None:
        """Teach every rule whose marks changed (also on a timer after marking)."""
        self._teach_timer.stop()
        pending, self._teach_pending = self._teach_pending, set()
        for name in pending:
            if self.session is not None and name in self.session.order:
                self.session.teach(name)
        self._refresh_panels()

    def clear_marks(self) -> None:
        target = self._marking_target()
        if target is None:
            return
        name, view_rows = target
        marks = self.session.marks(name)
        for view_row in view_rows:
            marks.pop(self.model.row_id(view_row), None)
        self._set_marks(name, marks)

    def _set_marks(self, name: str, marks: dict[int, object]) -> None:
        current = self.table.currentIndex()
        row, rule = current.row(), self.model.rule_of(current.column())
        self.session.set_marks(name, marks, teach=False)
        self._teach_pending.add(name)
        self._teach_timer.start()  # teach once the user pauses marking
        if self.model.labels_changed(name):
            self._size_columns()
        if rule is not None and not self.table.currentIndex().isValid():
            self.table.setCurrentIndex(self.model.index(row, self.model.rule_column_index(rule)))
        count = len(marks)
        self.statusBar().showMessage(
            f"{count} row{'s' if count != 1 else ''} marked for {name}"
            + ("" if count >= MIN_LABELS else f" · {MIN_LABELS - count} more to teach the rule")
            + (
                " · Label next (Ctrl+Shift+L) asks about the rows that would help it most"
                if count >= MIN_LABELS and not self.label_bar.isVisible()
                else ""
            ),
            8000,
        )
        self._refresh_panels()

    def _choose_label(self, name: str, view_row: int) -> None:
        """A wrong label or score: ask which answer is right."""
        menu = QMenu(self)
        rule = self.session.rule(name)
        menu.addSection(f"The right {kind_of(rule).name} is")
        rect = self.table.visualRect(self.model.index(view_row, self.model.rule_column_index(name)))
        for text, value in kind_of(rule).mark_choices(rule):
            menu.addAction(text, lambda v=value: self.mark_selected(right=False, label=v))
        menu.exec(self.table.viewport().mapToGlobal(rect.bottomLeft()))

    def _cell_menu(self, pos) -> None:
        if self.model is None:
            return
        menu = QMenu(self)
        menu.addAction(self.act_copy)
        if self._reason_target() is not None:
            menu.addSeparator()
            menu.addAction(self.act_why)
            name = self._reason_target()[0]
            if self.session.evaluator.gold_values(name) is not None:
                menu.addAction(
                    "Explain all disagreements", lambda: self.explain_disagreements(name)
                )
        if self._marking_target() is not None:
            menu.addSeparator()
            menu.addAction(self.act_right_answer)
            menu.addAction(self.act_wrong_answer)
            menu.addSeparator()
            menu.addAction(self.act_clear_mark)
        menu.exec(self.table.viewport().mapToGlobal(pos))
