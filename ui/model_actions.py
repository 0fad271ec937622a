"""Choosing the model: the Model dialog, the Fast / Accurate tiers, a project's model."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastsheet.backends.base import Backend
from fastsheet.backends.server import SYSTEM_ONE, ServerSettings
from fastsheet.data.errors import FastsheetError
from fastsheet.files.project import Project


class ModelActions:
    """A part of MainWindow (mixed in; uses its widgets and session)."""

    async def _use_project_model(self, project: Project) -> str | None:
        """Load the model a project was saved with; a message if it cannot be used here."""
        current = model_text(self.session.backend)
        try:
            path = self.session.model_for(project)
            if path is None:
                return None
            threads = getattr(self.session.backend, "n_threads", None)
            backend, ref = await self._load_backend(path, threads)
        except FastsheetError as exc:
            self.model_label.setText(current)
            return f"This project was saved with model {project.model!r}: {exc} Using {current}."
        self.session.set_backend(backend, reload=False, ref=ref)
        self._show_model()
        return None

    def settings_dialog(self) -> None:
        from ui.settings_dialog import SettingsDialog

        backend = self.session.backend if self.session else None
        current = getattr(backend, "path", None) or self._local_path
        state = self.session.state if self.session else None
        dialog = SettingsDialog(
            self,
            current,
            server=state.last_server() if state else {},
            systemone=state.last_server(SYSTEM_ONE) if state else {},
            on_server=getattr(getattr(backend, "settings", None), "protocol", None),
        )
        if dialog.exec():
            server = dialog.server_choice()
            if server is not None:
                self.use_server(server)
            else:
                path, threads = dialog.choice()
                self.switch_model(path, threads)

    def use_server(self, settings: ServerSettings) -> asyncio.Task:
        """Judge on the user's own inference server (opt-in; shown in the status bar)."""
        return self._spawn(self._use_server(settings))

    async def _use_server(self, settings: ServerSettings) -> None:
        from fastsheet.backends.server_backend import connect

        self.model_label.setText(f"Connecting to {settings.url}…")
        try:
            backend = await asyncio.get_running_loop().run_in_executor(
                None, lambda: connect(settings)
            )
        except FastsheetError as exc:
            self.show_error(f"{exc} The current model is still in use.")
            self._show_model()
            return
        if self.session is None:
            backend.close()
            return
        self.session.state.remember_server(
            settings.url, settings.model, settings.concurrency, settings.protocol
        )
        self._remember_local()
        self.session.set_backend(backend)
        self._show_model()
        if self.session.frame is not None:
            self._install_sheet()

    def use_local_model(self) -> asyncio.Task | None:
        """Back from a server to the local model used before it (one click)."""
        from fastsheet.backends.models import tier_model

        path = self._local_path
        if path is None:
            try:
                path = tier_model("accurate")
            except FastsheetError as exc:
                self.show_error(str(exc))
                return None
        return self.switch_model(path, None)

    def _remember_local(self) -> None:
        path = getattr(self.session.backend, "path", None) if self.session else None
        if path is not None:
            self._local_path = Path(path)

    def _show_model(self) -> None:
        backend = self.session.backend if self.session else None
        self.model_label.setText(model_text(backend) if backend is not None else "No model")
        host = getattr(backend, "host", None)
        self.model_label.setToolTip(
            f"Rows are sent to the inference server at {host}; click “Use local model” to "
            "judge on this computer again."
            if host
            else "Rows are judged on this computer."
        )
        self.local_button.setVisible(bool(host))
        self._show_tier()

    def switch_model(self, path: Path, threads: int | None) -> asyncio.Task:
        return self._spawn(self._switch_model(path, threads))

    async def _load_backend(self, path: Path, threads: int | None) -> tuple[Backend, str]:
        """A model loaded off the event loop, and how a project names it (both can walk
        the disk); raises FastsheetError."""
        from fastsheet.backends.llama_backend import LlamaBackend
        from fastsheet.backends.models import model_ref

        self.model_label.setText(f"Loading {path.name}…")
        return await asyncio.get_running_loop().run_in_executor(
            None, lambda: (LlamaBackend(path, n_threads=threads, keep_states=True), model_ref(path))
        )

    async def _switch_model(self, path: Path, threads: int | None) -> None:
        try:
            backend, ref = await self._load_backend(path, threads)
        except FastsheetError as exc:
            self.show_error(f"{exc} The current model is still in use.")
            self._show_model()
            return
        if self.session is None:
            return
        self.session.set_backend(backend, ref=ref)
        self._show_model()
        if self.session.frame is not None:
            self._install_sheet()

    def switch_tier(self, tier: str) -> asyncio.Task | None:
        """Fast or Accurate: switch to that tier's catalogued model (results stay cached)."""
        from fastsheet.backends.models import tier_model

        try:
            path = tier_model(tier)
        except FastsheetError as exc:
            self.show_error(str(exc))
            self._show_tier()
            return None
        threads = getattr(self.session.backend, "n_threads", None) if self.session else None
        return self.switch_model(path, threads)

    def _show_tier(self) -> None:
        from fastsheet.backends.models import tier_of

        backend = self.session.backend if self.session else None
        tier = tier_of(Path(getattr(backend, "path", ""))) if backend is not None else None
        for name, action in self.tier_actions.items():
            action.setChecked(name == tier)


def model_text(backend) -> str:
    host = getattr(backend, "host", None)
    if getattr(getattr(backend, "settings", None), "protocol", None) == SYSTEM_ONE:
        return f"Rows go to System One at {host} · {backend.model}"
    if host:  # llama_cpp.server names a model by its path: the file name is enough
        return f"Server {host} · {backend.name.rsplit('/', 1)[-1]}"
    quant = getattr(backend, "quantization", "")
    threads = getattr(backend, "n_threads", "")
    return f"{backend.name} · {quant} · {threads} threads"
