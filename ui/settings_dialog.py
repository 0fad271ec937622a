"""Settings: pick a model from those found (models/ or a file) and the thread count."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QPushButton,
    QSpinBox,
    QWidget,
)

from fastsheet.llama_backend import default_threads
from fastsheet.models import find_models


class SettingsDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Model")
        self.models = QComboBox()
        for m in find_models():
            status = {True: "verified", False: "does not verify", None: "not catalogued"}[
                m.verified
            ]
            quant = m.info.quantization if m.info else "?"
            self.models.addItem(
                f"{m.path.name} · {quant} · {m.size / 1e6:,.0f} MB · {status}", str(m.path)
            )
        browse = QPushButton("Other file…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.models, 1)
        row.addWidget(browse)
        self.threads = QSpinBox()
        self.threads.setRange(1, 64)
        self.threads.setValue(default_threads())
        form = QFormLayout(self)
        form.addRow("Model", row)
        form.addRow("Threads", self.threads)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.resize(560, 140)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose a GGUF model", "", "GGUF model (*.gguf)"
        )
        if path:
            self.models.addItem(Path(path).name, path)
            self.models.setCurrentIndex(self.models.count() - 1)

    def choice(self) -> tuple[Path, int]:
        return Path(self.models.currentData()), self.threads.value()
