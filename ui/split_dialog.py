"""The proposal of "Split into steps": the columns it would add, editable, to accept or not."""

from __future__ import annotations

from dataclasses import replace

import polars as pl
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from fastsheet.data.errors import RuleError
from fastsheet.plans.split import Step, check_steps

HEADERS = ("Column", "Kind", "Formula or rule", "Only where")


class SplitDialog(QDialog):
    """Shows a split; names, texts and conditions can be edited before accepting."""

    def __init__(
        self, steps: list[Step], schema: dict[str, pl.DataType], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._schema = schema
        self.setWindowTitle(f"Split {steps[-1].name} into steps")
        self._steps = steps
        combination = steps[-1]
        intro = QLabel(
            "Exact parts become formulas; the rest is asked of the model, only on the rows "
            f"where the formulas hold. <b>{combination.name}</b> becomes their combination. "
            "Edit any cell, then accept; nothing changes until you do."
        )
        intro.setWordWrap(True)
        self.table = QTableWidget(len(steps), len(HEADERS))
        self.table.setHorizontalHeaderLabels(list(HEADERS))
        self.table.verticalHeader().hide()
        for row, step in enumerate(steps):
            for col, text in enumerate((step.name, step.kind.value, step.text, step.where)):
                item = QTableWidgetItem(text)
                self.table.setItem(row, col, item)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        self.error = QLabel()
        self.error.setObjectName("formulaError")
        self.error.setWordWrap(True)
        self.error.hide()
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.accept_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.accept_button.setText("Accept split")
        buttons.accepted.connect(self._check)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.resize(880, 120 + 34 * len(steps))

    def steps(self) -> list[Step]:
        """The steps as edited (the last one keeps the rule's column name)."""
        out = []
        for row, step in enumerate(self._steps):
            name, _kind, text, where = (self.table.item(row, c).text().strip() for c in range(4))
            if row == len(self._steps) - 1:
                name = step.name
            out.append(replace(step, name=name, text=text, where=where if where else ""))
        return out

    def _check(self) -> None:
        """Accept only steps that make valid columns; otherwise say what is wrong."""
        try:
            check_steps(self.steps(), self._schema)
        except RuleError as exc:
            self.error.setText(str(exc))
            self.error.show()
            return
        self.accept()
