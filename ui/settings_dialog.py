"""Settings: pick a model from those found (models/, LM Studio, Ollama, …, or a file) and
the thread count."""

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

from fastsheet.discovery import all_models
from fastsheet.llama_backend import default_threads
from fastsheet.models import describe


class SettingsDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, current: Path | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Model")
        self.models = QComboBox()
        for found in all_models():  # headers only: nothing is loaded to list them
            m = describe(found.path)
            status = (
                m.problem
                or {True: "verified", False: "does not verify", None: "not catalogued"}[m.verified]
            )
            quant = m.info.quantization if m.info else "?"
            label = found.path.name if found.source == "models/" else found.name
            self.models.addItem(
                f"{label} · {found.source} · {quant} · {m.size / 1e6:,.0f} MB · {status}",
                str(found.path),
            )
            if current is not None and found.path.resolve() == Path(current).resolve():
                self.models.setCurrentIndex(self.models.count() - 1)
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
