"""The Model dialog: a model on this machine (models/, LM Studio, Ollama, …, or a file)
with its thread count, or, opt-in, the team's own inference server."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from fastsheet.discovery import all_models
from fastsheet.errors import FastsheetError
from fastsheet.llama_runtime import default_threads
from fastsheet.models import describe
from fastsheet.rules import Rule
from fastsheet.server import API_KEY_ENV, DEFAULT_CONCURRENCY, ServerSettings

SAMPLE_RULE = Rule("The review is positive.")
SAMPLE_RECORD = "review: The food was wonderful and the staff were kind."


class _Relay(QObject):
    """Carries a background thread's result to the dialog (a queued signal)."""

    done = Signal(object)


@dataclass(frozen=True)
class ConnectionTest:
    ok: bool
    text: str
    models: tuple[str, ...] = ()


def check_connection(settings: ServerSettings) -> ConnectionTest:
    """The server's models and one sample answer (blocking: run it off the UI thread)."""
    from fastsheet.server_backend import ServerBackend

    try:
        backend = ServerBackend(settings)
    except FastsheetError as exc:
        return ConnectionTest(False, f"✗ {exc}")
    try:
        start = time.perf_counter()
        answer = backend.sample(SAMPLE_RULE, SAMPLE_RECORD)
        took = time.perf_counter() - start
    except FastsheetError as exc:
        return ConnectionTest(False, f"✗ Connected, but a sample answer failed: {exc}")
    finally:
        backend.close()
    said = "Yes" if (answer.p or 0.0) >= 0.5 else "No"
    text = (
        f"✓ Connected to {settings.host} · using {backend.name}\n"
        f"Models: {', '.join(backend.offered) or '(none listed)'}\n"
        f"Sample: “{SAMPLE_RULE.text}” on “{SAMPLE_RECORD[8:]}” → {said} "
        f"(p(yes) {answer.p:.2f}) in {took:.1f} s"
    )
    return ConnectionTest(True, text, tuple(backend.offered))


class SettingsDialog(QDialog):
    def __init__(
        self,
        parent: QWidget | None = None,
        current: Path | None = None,
        server: dict | None = None,
        on_server: bool = False,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Model")
        self.tabs = QTabWidget()
        self.tabs.addTab(self._local_tab(current), "On this machine")
        self.tabs.addTab(self._server_tab(server or {}), "Server")
        if on_server:
            self.tabs.setCurrentIndex(1)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(buttons)
        self.last_test: ConnectionTest | None = None
        self._relay = _Relay(self)
        self._relay.done.connect(self._tested)
        self.resize(640, 300)

    # ----- tabs ----------------------------------------------------------------------------

    def _local_tab(self, current: Path | None) -> QWidget:
        page = QWidget()
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
        form = QFormLayout(page)
        form.addRow("Model", row)
        form.addRow("Threads", self.threads)
        note = QLabel("Rows are judged on this computer. Nothing leaves it.")
        note.setStyleSheet("color: palette(placeholder-text);")
        form.addRow(note)
        return page

    def _server_tab(self, server: dict) -> QWidget:
        page = QWidget()
        self.server_url = QLineEdit(str(server.get("url") or ""))
        self.server_url.setPlaceholderText("http://127.0.0.1:8080  (llama-server, vLLM or Ollama)")
        self.server_model = QComboBox()
        self.server_model.setEditable(True)
        self.server_model.lineEdit().setPlaceholderText("the server's first model")
        if server.get("model"):
            self.server_model.addItem(str(server["model"]))
        self.concurrency = QSpinBox()
        self.concurrency.setRange(1, 256)
        self.concurrency.setValue(int(server.get("concurrency") or DEFAULT_CONCURRENCY))
        self.concurrency.setToolTip("Requests in flight at once; the server batches them.")
        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(self.test)
        self.test_result = QLabel("")
        self.test_result.setWordWrap(True)
        self.test_result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form = QFormLayout(page)
        form.addRow("Server URL", self.server_url)
        form.addRow("Model", self.server_model)
        form.addRow("Concurrency", self.concurrency)
        form.addRow(self.test_button, self.test_result)
        note = QLabel(
            "Opt-in: the rows of the open sheet are sent to this server, and to nothing else. "
            f"An API key is read from ${API_KEY_ENV} (never saved). The status bar shows the "
            "server while it is in use; switching back to the local model is one click."
        )
        note.setWordWrap(True)
        note.setStyleSheet("color: palette(placeholder-text);")
        form.addRow(note)
        return page

    # ----- actions -------------------------------------------------------------------------

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose a GGUF model", "", "GGUF model (*.gguf)"
        )
        if path:
            self.models.addItem(Path(path).name, path)
            self.models.setCurrentIndex(self.models.count() - 1)

    def server_settings(self) -> ServerSettings:
        model = self.server_model.currentText().strip() or None
        return ServerSettings(self.server_url.text().strip(), model, self.concurrency.value())

    def test(self) -> None:
        """Connect, list the models and ask one sample question, off the UI thread."""
        if not self.server_url.text().strip():
            self.test_result.setText("Enter the server's URL first.")
            return
        settings = self.server_settings()
        self.test_button.setEnabled(False)
        self.test_result.setText(f"Connecting to {self.server_url.text().strip()}…")

        def work() -> None:
            try:
                result = check_connection(settings)
            except FastsheetError as exc:
                result = ConnectionTest(False, f"✗ {exc}")
            self._relay.done.emit(result)

        threading.Thread(target=work, name="fastsheet-server-test", daemon=True).start()

    def _tested(self, result: ConnectionTest) -> None:
        self.last_test = result
        self.test_button.setEnabled(True)
        self.test_result.setText(result.text)
        if result.ok:
            chosen = self.server_model.currentText()
            self.server_model.clear()
            self.server_model.addItems(list(result.models))
            if chosen:
                self.server_model.setCurrentText(chosen)

    def server_choice(self) -> ServerSettings | None:
        """The server to use, when the Server tab was chosen (None: a local model)."""
        if self.tabs.currentIndex() != 1 or not self.server_url.text().strip():
            return None
        return self.server_settings()

    def choice(self) -> tuple[Path, int]:
        return Path(self.models.currentData()), self.threads.value()
