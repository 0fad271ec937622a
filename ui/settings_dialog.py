"""The Model dialog: a model on this machine (models/, LM Studio, Ollama, …, or a file)
with its thread count, or, opt-in, the team's own inference server: an OpenAI-style one
(Server) or a System One (Jev-compatible) one."""

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

from fastsheet.backends.discovery import all_models
from fastsheet.backends.llama_runtime import default_threads
from fastsheet.backends.models import describe
from fastsheet.backends.server import (
    API_KEY_ENV,
    DEFAULT_CONCURRENCY,
    OPENAI,
    SYSTEM_ONE,
    ServerSettings,
)
from fastsheet.data.errors import FastsheetError
from fastsheet.kinds.rules import Rule

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
    from fastsheet.backends.server_backend import connect

    try:
        backend = connect(settings)
    except FastsheetError as exc:
        return ConnectionTest(False, f"✗ {exc}")
    try:
        offered = tuple(getattr(backend, "offered", ()) or backend.listed_models())
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
        f"Models: {', '.join(offered) or '(none listed)'}\n"
        f"Sample: “{SAMPLE_RULE.text}” on “{SAMPLE_RECORD[8:]}” → {said} "
        f"(p(yes) {answer.p:.2f}) in {took:.1f} s"
    )
    return ConnectionTest(True, text, offered)


@dataclass
class ServerTab:
    """The fields of one server tab (Server, or System One)."""

    protocol: str
    url: QLineEdit
    model: QComboBox
    concurrency: QSpinBox
    test_button: QPushButton
    result: QLabel

    def settings(self) -> ServerSettings:
        model = self.model.currentText().strip() or None
        return ServerSettings(
            self.url.text().strip(), model, self.concurrency.value(), protocol=self.protocol
        )


class SettingsDialog(QDialog):
    def __init__(
        self,
        parent: QWidget | None = None,
        current: Path | None = None,
        server: dict | None = None,
        on_server: str | None = None,
        systemone: dict | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Model")
        self.tabs = QTabWidget()
        self.tabs.addTab(self._local_tab(current), "On this machine")
        self.server_tabs: dict[str, ServerTab] = {}
        self.tabs.addTab(self._server_tab(server or {}, OPENAI), "Server")
        self.tabs.addTab(self._server_tab(systemone or {}, SYSTEM_ONE), "System One")
        if on_server:
            self.tabs.setCurrentIndex(1 + list(self.server_tabs).index(on_server))
        first = self.server_tabs[OPENAI]  # the Server tab's fields, by their old names
        self.server_url, self.server_model = first.url, first.model
        self.concurrency, self.test_button, self.test_result = (
            first.concurrency,
            first.test_button,
            first.result,
        )
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
        self.resize(720, 400)

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

    def _server_tab(self, server: dict, protocol: str) -> QWidget:
        page = QWidget()
        systemone = protocol == SYSTEM_ONE
        url = QLineEdit(str(server.get("url") or ""))
        url.setPlaceholderText(
            "http://gpu-box:8000  (laya-serve, or another Jev-compatible server)"
            if systemone
            else "http://127.0.0.1:8080  (llama-server, vLLM or Ollama)"
        )
        model = QComboBox()
        model.setEditable(True)
        model.lineEdit().setPlaceholderText(
            "jev-latest" if systemone else "the server's first model"
        )
        if server.get("model"):
            model.addItem(str(server["model"]))
        concurrency = QSpinBox()
        concurrency.setRange(1, 256)
        concurrency.setValue(int(server.get("concurrency") or DEFAULT_CONCURRENCY))
        concurrency.setToolTip("Requests in flight at once; the server batches them.")
        test_button = QPushButton("Test connection")
        result = QLabel("")
        result.setWordWrap(True)
        result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        tab = ServerTab(protocol, url, model, concurrency, test_button, result)
        self.server_tabs[protocol] = tab
        test_button.clicked.connect(lambda: self.test(tab))
        form = QFormLayout(page)
        form.addRow("Server URL", url)
        form.addRow("Model", model)
        form.addRow("Concurrency", concurrency)
        form.addRow(test_button, result)
        sent = (
            "Each row is sent once, as a JSON record of the columns its rules name, with every "
            "rule column's typed question (yes/no, choice or score); a text column needs a "
            "local model or an OpenAI-style server."
            if systemone
            else "Each row is sent with the rule's prompt."
        )
        note = QLabel(
            f"Opt-in: the rows of the open sheet are sent to this server, and to nothing else. "
            f"{sent} An API key is read from ${API_KEY_ENV} (never saved). The status bar shows "
            "the server while it is in use; switching back to the local model is one click."
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
        return self.server_tabs[OPENAI].settings()

    def test(self, tab: ServerTab | None = None) -> None:
        """Connect, list the models and ask one sample question, off the UI thread."""
        tab = tab or self.server_tabs[OPENAI]
        if not tab.url.text().strip():
            tab.result.setText("Enter the server's URL first.")
            return
        settings = tab.settings()
        tab.test_button.setEnabled(False)
        tab.result.setText(f"Connecting to {tab.url.text().strip()}…")

        def work() -> None:
            try:
                result = check_connection(settings)
            except FastsheetError as exc:
                result = ConnectionTest(False, f"✗ {exc}")
            self._relay.done.emit((tab, result))

        threading.Thread(target=work, name="fastsheet-server-test", daemon=True).start()

    def _tested(self, done: tuple[ServerTab, ConnectionTest]) -> None:
        tab, result = done
        self.last_test = result
        tab.test_button.setEnabled(True)
        tab.result.setText(result.text)
        if result.ok and result.models:
            chosen = tab.model.currentText()
            tab.model.clear()
            tab.model.addItems(list(result.models))
            if chosen:
                tab.model.setCurrentText(chosen)
            elif tab.protocol == SYSTEM_ONE:  # none chosen: the default model, as tested
                tab.model.setEditText("")

    def server_choice(self) -> ServerSettings | None:
        """The server to use, when a server tab was chosen (None: a local model)."""
        index = self.tabs.currentIndex() - 1
        if index < 0:
            return None
        tab = list(self.server_tabs.values())[index]
        return tab.settings() if tab.url.text().strip() else None

    def choice(self) -> tuple[Path, int]:
        return Path(self.models.currentData()), self.threads.value()
