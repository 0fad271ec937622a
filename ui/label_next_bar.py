"""Label next: a bar that asks about one row at a time, answered from the keyboard."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from fastsheet.learning.learned import LEARN_FROM

MAX_LABEL_KEYS = 9  # labels answered by 1..9
LEARN_TIP = (
    f"From {LEARN_FROM} labels, learn them with a small model fitted on the judge's reading of each "
    "row, where your labels held out one at a time say it beats the judge's own answer; "
    "each new label then re-decides the column without asking the model again. Only with "
    "a local model: a server's judge gives no reading of the rows.\n"
    "Off (the default): the labels teach the rule (examples in the prompt and a fitted "
    "threshold), which did about as well over fastsheet's benchmark suite."
)


class LabelNextBar(QWidget):
    """The row asked about, its answers as buttons (Y / N, or 1..9 for labels), Skip (S),
    how far the rule's labels have got, and whether the rule learns them. It only shows;
    MainWindow does the work."""

    answered = Signal(object)  # True / False for a flag, the label for a label rule
    skipped = Signal()
    closed = Signal()
    learn_toggled = Signal(bool)  # the user turned the rule's learning on or off

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("labelNextBar")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.title = QLabel("")
        self.title.setObjectName("labelNextTitle")
        self.record = QLabel("")
        self.record.setObjectName("labelNextRecord")
        self.record.setTextFormat(Qt.TextFormat.PlainText)
        self.progress = QLabel("")
        self.progress.setObjectName("labelNextProgress")
        self._buttons = QHBoxLayout()
        self._buttons.setSpacing(6)
        self.skip = QPushButton("Skip  S")
        self.skip.setToolTip("Ask about another row (S)")
        self.skip.clicked.connect(self.skipped)
        self.learn = QCheckBox("Learn from labels")
        self.learn.setObjectName("labelNextLearn")
        self.learn.setToolTip(LEARN_TIP)
        self.learn.toggled.connect(self.learn_toggled)
        close = QToolButton()
        close.setText("✕")
        close.setToolTip("Stop labelling (Esc)")
        close.clicked.connect(self.close_bar)
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addStretch(1)
        top.addWidget(self.progress)
        top.addSpacing(12)
        top.addWidget(self.learn)
        top.addWidget(close)
        row = QHBoxLayout()
        row.addWidget(self.record, 1)
        row.addLayout(self._buttons)
        row.addWidget(self.skip)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addLayout(row)
        self._answers: list[tuple[QPushButton, object]] = []
        self._shortcuts: list[QShortcut] = []
        for key, slot in ((Qt.Key.Key_Escape, self.close_bar), (Qt.Key.Key_S, self.skipped)):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        self.hide()

    def set_answers(self, answers: list[tuple[str, str, object]]) -> None:
        """(button text, key, value) per answer: Yes / Y / True, or a label and its digit
        (key "": a button only)."""
        for button, _ in self._answers:
            button.deleteLater()
        for shortcut in self._shortcuts:
            shortcut.setEnabled(False)
            shortcut.deleteLater()
        self._answers, self._shortcuts = [], []
        for text, key, value in answers:
            button = QPushButton(f"{text}  {key}" if key and key != text else text)
            button.setToolTip(
                f"The right answer for this row is {text!r}" + (f" ({key})" if key else "")
            )
            button.clicked.connect(lambda _=False, v=value: self.answered.emit(v))
            self._buttons.addWidget(button)
            self._answers.append((button, value))
            if not key:
                continue
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(lambda v=value: self.answered.emit(v))
            self._shortcuts.append(shortcut)

    def ask(self, title: str, record: str, progress: str) -> None:
        self.title.setText(title)
        self.record.setText(record)
        self.record.setToolTip(record)
        self.progress.setText(progress)
        for button, _ in self._answers:
            button.setEnabled(True)
        self.skip.setEnabled(True)

    def nothing_to_ask(self, title: str, why: str, progress: str) -> None:
        self.title.setText(title)
        self.record.setText(why)
        self.record.setToolTip("")
        self.progress.setText(progress)
        for button, _ in self._answers:
            button.setEnabled(False)
        self.skip.setEnabled(False)

    def set_learning(self, on: bool) -> None:
        """Show whether the rule learns its labels (no signal: the user did not turn it)."""
        self.learn.blockSignals(True)
        self.learn.setChecked(on)
        self.learn.blockSignals(False)

    def open_bar(self) -> None:
        self.show()
        self.setFocus()

    def close_bar(self) -> None:
        self.hide()
        self.closed.emit()
