"""The welcome view: the samples, recent files, and Open."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QListWidget, QPushButton, QVBoxLayout, QWidget

from fastsheet.files.project import AppState

SAMPLES = (
    (
        "fraud.fastsheet",
        "Fraud rule × 10,000 transactions",
        "Flag purchases that don't match the customer's usual spending; gold: fraud.",
    ),
    (
        "support.fastsheet",
        "Support bot × 30 conversations",
        "Draft replies under a system prompt, then judge each reply against the policy.",
    ),
    (
        "candidates.fastsheet",
        "Hiring criteria × 340 candidates",
        "Shortlist résumés against the job's requirements.",
    ),
)


class WelcomeView(QWidget):
    openRequested = Signal(str)
    browseRequested = Signal()
    pasteRequested = Signal()

    def __init__(self, samples: Path, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.samples = samples
        self.state = state
        title = QLabel("fastsheet")
        title.setObjectName("welcomeTitle")
        subtitle = QLabel(
            "Write a rule in plain English. Every row is judged by a small model on this machine."
        )
        subtitle.setObjectName("welcomeSubtitle")
        grid = QGridLayout()
        for i, (file, name, blurb) in enumerate(SAMPLES):
            button = QPushButton(f"{name}\n{blurb}")
            button.setObjectName("sampleButton")
            button.setMinimumHeight(72)
            button.clicked.connect(
                lambda _=False, f=file: self.openRequested.emit(str(self.samples / f))
            )
            grid.addWidget(button, i, 0)
        open_button = QPushButton(
            "Open a file…   (CSV, TSV, Parquet, JSON, Arrow, Excel, .fastsheet)"
        )
        open_button.clicked.connect(self.browseRequested)
        paste_button = QPushButton("New sheet from clipboard   (cells copied in Excel or Sheets)")
        paste_button.setToolTip("Ctrl+Shift+V")
        paste_button.clicked.connect(self.pasteRequested)
        self.restore = QPushButton("Restore your last session (autosaved rules)")
        self.restore.setObjectName("restoreButton")
        self.restore.clicked.connect(lambda: self.openRequested.emit(str(self.state.autosave_path)))
        self.recent = QListWidget()
        self.recent.itemActivated.connect(lambda item: self.openRequested.emit(item.text()))
        self.recent.itemDoubleClicked.connect(lambda item: self.openRequested.emit(item.text()))
        box = QWidget()
        box.setMaximumWidth(720)
        v = QVBoxLayout(box)
        v.addWidget(title)
        v.addWidget(subtitle)
        v.addSpacing(16)
        v.addWidget(QLabel("Start from a sample"))
        v.addLayout(grid)
        v.addSpacing(8)
        v.addWidget(self.restore)
        v.addWidget(open_button)
        v.addWidget(paste_button)
        v.addSpacing(16)
        v.addWidget(QLabel("Recent files"))
        v.addWidget(self.recent, 1)
        outer = QVBoxLayout(self)
        outer.addWidget(box, 0, Qt.AlignmentFlag.AlignHCenter)

    def refresh(self) -> None:
        self.restore.setVisible(self.state.autosave_path.exists())
        self.recent.clear()
        for path in self.state.recent():
            self.recent.addItem(str(path))
        if not self.recent.count():
            self.recent.addItem("(none yet)")
            self.recent.item(0).setFlags(Qt.ItemFlag.NoItemFlags)
