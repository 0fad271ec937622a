"""The formula bar: the selected rule column's text, kind and options, as in a spreadsheet."""

from __future__ import annotations

from PySide6.QtCore import QStringListModel, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QTextCursor
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QWidget,
)

from fastsheet.backends.framing import Framing
from fastsheet.backends.framing import asked_as as framing_asked
from fastsheet.backends.prompts import DEFAULT_FRAMING
from fastsheet.kinds import KINDS
from fastsheet.kinds.label import labels_text
from fastsheet.kinds.rules import Rule
from ui import theme

DEBOUNCE_MS = 300
WHERE_TIP = (
    "A condition (a formula, e.g. years_experience >= 5): only the rows where it is "
    "true are put to the model; the others are skipped, with no model call."
)


class RuleEdit(QPlainTextEdit):
    """A plain-text editor that grows with its text and completes `{column}` names."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTabChangesFocus(True)
        self.setPlaceholderText(
            "Write a rule in plain English, e.g. Flag if the {category} is unusual for this customer"
        )
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._completer = QCompleter([], self)
        self._completer.setWidget(self)
        self._completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self._completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self._completer.activated.connect(self._insert_completion)
        self.document().contentsChanged.connect(self._fit)
        self._fit()

    def set_columns(self, names: list[str]) -> None:
        self._completer.setModel(QStringListModel(names, self._completer))

    def _fit(self) -> None:
        lines = max(1, min(6, int(self.document().size().height())))
        height = self.fontMetrics().lineSpacing() * lines + 14
        self.setFixedHeight(max(34, height))

    def _prefix(self) -> str | None:
        """The partial name after an unclosed `{` just before the cursor."""
        text = self.toPlainText()[: self.textCursor().position()]
        start = text.rfind("{")
        if start < 0 or "}" in text[start:]:
            return None
        return text[start + 1 :]

    def keyPressEvent(self, event: QKeyEvent) -> None:
        popup = self._completer.popup()
        if popup.isVisible() and event.key() in (
            Qt.Key.Key_Enter,
            Qt.Key.Key_Return,
            Qt.Key.Key_Tab,
        ):
            event.ignore()
            return
        if event.key() in (Qt.Key.Key_Enter, Qt.Key.Key_Return) and not event.modifiers():
            event.accept()  # a rule is one paragraph; Enter just leaves it as it is
            return
        super().keyPressEvent(event)
        prefix = self._prefix()
        if prefix is None:
            popup.hide()
            return
        self._completer.setCompletionPrefix(prefix)
        rect = self.cursorRect()
        rect.setWidth(220)
        self._completer.complete(rect)

    def _insert_completion(self, name: str) -> None:
        prefix = self._prefix() or ""
        cursor = self.textCursor()
        cursor.movePosition(
            QTextCursor.MoveOperation.Left, QTextCursor.MoveMode.KeepAnchor, len(prefix)
        )
        cursor.insertText(name + "}")
        self.setTextCursor(cursor)


class FormulaBar(QWidget):
    """Edits the selected rule column; emits the new Rule after a short debounce."""

    ruleChanged = Signal(object)  # Rule
    splitRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rule: Rule | None = None
        self._loading = False
        self.name = QLabel("—")
        self.name.setObjectName("formulaName")
        self.name.setMinimumWidth(90)
        self.kind = QComboBox()
        self.kind.addItems(list(KINDS))
        self.kind.setToolTip(" · ".join(k.summary for k in KINDS.values()))
        self.labels = QLineEdit()
        self.labels.setPlaceholderText("labels, comma-separated")
        self.scale = QLineEdit()
        self.scale.setPlaceholderText("1-5")
        self.scale.setMaximumWidth(70)
        self.editor = RuleEdit()
        self.where_label = QLabel("only where")
        self.where_label.setObjectName("whereLabel")
        self.where = QLineEdit()
        self.where.setObjectName("where")
        self.where.setPlaceholderText("all rows")
        self.where.setToolTip(WHERE_TIP)
        self.where_label.setBuddy(self.where)
        self.split = QPushButton("Split into steps")
        self.split.setObjectName("split")
        self.split.setToolTip(
            "Propose exact parts as formulas and the rest as short rules judged only where "
            "they hold; you see the proposal before anything changes."
        )
        self.split.clicked.connect(self._split_clicked)
        self.error = QLabel()
        self.error.setObjectName("formulaError")
        self.error.setWordWrap(True)
        self.error.hide()
        fx = QLabel("ƒx")
        fx.setObjectName("fx")

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.name)
        row.addWidget(self.kind)
        row.addWidget(self.labels, 1)
        row.addWidget(self.scale)
        row.addWidget(fx)
        row.addWidget(self.editor, 4)
        row.addWidget(self.where_label)
        row.addWidget(self.where, 2)
        row.addWidget(self.split)
        outer = QHBoxLayout(self)
        outer.setContentsMargins(8, 6, 8, 6)
        outer.addLayout(row)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self._emit)
        self.editor.textChanged.connect(self._changed)
        self.labels.textEdited.connect(self._changed)
        self.scale.textEdited.connect(self._changed)
        self.where.textEdited.connect(self._changed)
        self.kind.currentTextChanged.connect(self._kind_changed)
        self.set_rule(None)

    def set_columns(self, names: list[str]) -> None:
        self.editor.set_columns(names)

    def set_rule(self, rule: Rule | None, error: str | None = None) -> None:
        """Show a rule column (None: nothing selected) without emitting a change."""
        self._loading = True
        self._timer.stop()
        self._rule = rule
        enabled = rule is not None
        for w in (self.kind, self.labels, self.scale, self.editor, self.where, self.split):
            w.setEnabled(enabled)
        if rule is None:
            self.name.setText("Select or add a rule column")
            self.editor.setPlainText("")
            self.where.setText("")
        else:
            self.name.setText(rule.name)
            self.kind.setCurrentText(rule.kind.value)
            self.labels.setText(labels_text(rule.labels, rule.descriptions))
            self.scale.setText(f"{rule.scale[0]}-{rule.scale[1]}")
            if self.where.text() != rule.where:
                self.where.setText(rule.where)
            if self.editor.toPlainText() != rule.text:
                self.editor.setPlainText(rule.text)
        self.editor.setToolTip(asked_as(rule) if rule is not None else "")
        self.show_implied(("", []))
        self._show_options()
        self.show_error(error)
        self._loading = False

    def show_implied(self, implied: tuple[str, list[str]]) -> None:
        """An empty condition says where the formulas reading the rule need it (if they
        only need some rows: the short-circuit), instead of "all rows"."""
        condition, readers = implied
        if condition:
            verb = "needs" if len(readers) == 1 else "need"
            self.where.setPlaceholderText(f"{condition}   (what {', '.join(readers)} {verb})")
            self.where.setToolTip(
                f"{theme.needed_only_where(condition, readers)}, so only those rows are put "
                "to the model; the others are skipped. A condition written here applies too."
            )
        else:
            self.where.setPlaceholderText("all rows")
            self.where.setToolTip(WHERE_TIP)

    def show_asked(self, rule: Rule, framing: Framing) -> None:
        """The tooltip says how the model is asked, under the current model's framing."""
        self.editor.setToolTip(asked_as(rule, framing))

    def show_error(self, message: str | None) -> None:
        self.error.setText(message or "")
        self.error.setVisible(bool(message))
        self.editor.setProperty("invalid", bool(message))
        self.editor.style().unpolish(self.editor)
        self.editor.style().polish(self.editor)

    def current_name(self) -> str | None:
        return self._rule.name if self._rule else None

    def _show_options(self) -> None:
        kind = KINDS[self.kind.currentText()]
        self.labels.setVisible(kind.option == "labels")
        self.scale.setVisible(kind.option == "scale")
        self.where_label.setVisible(kind.judged)
        self.where.setVisible(kind.judged)
        self.split.setVisible(kind.splittable)
        self.editor.setPlaceholderText(
            "Write a rule in plain English, e.g. Flag if the {category} is unusual for this customer"
            if kind.judged
            else 'Write a formula, e.g. years_experience >= 5 and contains(skills, "Python")'
        )

    def _kind_changed(self) -> None:
        self._show_options()
        defaults = KINDS[self.kind.currentText()].default_options
        if not self._loading and defaults.get("labels") and not self.labels.text().strip():
            self.labels.setText(defaults["labels"])
        self._changed()

    def _changed(self) -> None:
        if not self._loading and self._rule is not None:
            self._timer.start()

    def _split_clicked(self) -> None:
        self.flush()  # the proposal is for the rule as typed
        self.splitRequested.emit()

    def flush(self) -> None:
        """Emit a pending edit now (used before saving)."""
        if self._timer.isActive():
            self._timer.stop()
            self._emit()

    def _emit(self) -> None:
        if self._rule is None:
            return
        self.ruleChanged.emit(
            {
                "name": self._rule.name,
                "text": self.editor.toPlainText(),
                "kind": self.kind.currentText(),
                "labels": self.labels.text(),
                "scale": self.scale.text(),
                "where": self.where.text() if KINDS[self.kind.currentText()].judged else "",
            }
        )


def asked_as(rule: Rule, framing: Framing = DEFAULT_FRAMING) -> str:
    """How the rule reaches the model, for the formula bar's tooltip."""
    asked = rule.question()
    if asked is None:
        return "An exact formula: computed for every row from its columns, never by the model."
    return framing_asked(asked, framing)
