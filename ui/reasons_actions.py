"""Why? (the ? key, or the cell menu): a reason for each selected verdict, written by the
model behind every verdict still to judge, shown in the rule's reasons column (NAME_why)."""

from __future__ import annotations

import numpy as np

from fastsheet.sheet.summary import disagreements

#: the reasons column's width when it first appears (a short line of text)
REASONS_WIDTH = 380


class ReasonsActions:
    """A part of MainWindow (mixed in; uses its widgets and session)."""

    def _reason_target(self) -> tuple[str, list[int]] | None:
        """The judged rule of the current cell (its result or reasons column), and the
        selected rows' ids in that column."""
        if self.model is None or self.session is None:
            return None
        current = self.table.currentIndex()
        if not current.isValid():
            return None
        col = current.column()
        name = self.model.reasons_of(col) or (
            self.model.column_name(col) if self.model.is_rule_column(col) else None
        )
        column = self.session.evaluator.columns.get(name) if name else None
        if column is None or column.result.kind.stores_text or column.runner is None:
            return None
        view_rows = {i.row() for i in self.table.selectionModel().selectedIndexes()} | {
            current.row()
        }
        return name, [self.model.row_id(r) for r in sorted(view_rows)]

    def explain_selected(self) -> None:
        """Ask for reasons of the selected rows' verdicts."""
        target = self._reason_target()
        if target is None:
            self.statusBar().showMessage(
                "Select judged cells of a flag, label or score column, then press ? for the "
                "reasons of their verdicts.",
                6000,
            )
            return
        self._explain(*target)

    def explain_disagreements(self, name: str | None = None) -> None:
        """Reasons for every row whose verdict disagrees with the rule's labels."""
        name = name or self.selected_rule()
        ev = self.session.evaluator if self.session is not None else None
        gold = ev.gold_values(name) if ev is not None and name else None
        if gold is None:
            self.statusBar().showMessage("The rule has no labels to disagree with yet.", 6000)
            return
        column = ev.columns[name]
        rows = disagreements(column.result, column.calibration, gold)
        self._explain(name, np.asarray(rows).tolist())

    def _explain(self, name: str, rows: list[int]) -> None:
        queued = self.session.evaluator.explain(name, rows)
        if name not in self.model.reasons_shown:
            self.model.show_reasons(name)
            self._size_columns()
        if queued:
            self.statusBar().showMessage(
                f"Writing {queued} reason{'s' if queued != 1 else ''} for {name}, after the "
                "verdicts still to judge…",
                8000,
            )
        else:
            self.statusBar().showMessage("Those verdicts have their reasons already.", 5000)

    def hide_reasons(self, name: str) -> None:
        self.model.show_reasons(name, False)
        self._size_columns()
