"""Choosing the model: the Model dialog, the Fast / Accurate tiers, a project's model."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastsheet.backend import Backend
from fastsheet.errors import FastsheetError
from fastsheet.project import Project


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
        self.model_label.setText(model_text(backend))
        self._show_tier()
        return None

    def settings_dialog(self) -> None:
        from ui.settings_dialog import SettingsDialog

        current = getattr(self.session.backend, "path", None) if self.session else None
        dialog = SettingsDialog(self, current)
        if dialog.exec():
            path, threads = dialog.choice()
            self.switch_model(path, threads)

    def switch_model(self, path: Path, threads: int | None) -> asyncio.Task:
        return self._spawn(self._switch_model(path, threads))

    async def _load_backend(self, path: Path, threads: int | None) -> tuple[Backend, str]:
        """A model loaded off the event loop, and how a project names it (both can walk
        the disk); raises FastsheetError."""
        from fastsheet.llama_backend import LlamaBackend
        from fastsheet.models import model_ref

        self.model_label.setText(f"Loading {path.name}…")
        return await asyncio.get_running_loop().run_in_executor(
            None, lambda: (LlamaBackend(path, n_threads=threads), model_ref(path))
        )

    async def _switch_model(self, path: Path, threads: int | None) -> None:
        try:
            backend, ref = await self._load_backend(path, threads)
        except FastsheetError as exc:
            self.show_error(f"{exc} The current model is still in use.")
            self.model_label.setText(
                model_text(self.session.backend) if self.session else "No model"
            )
            return
        if self.session is None:
            return
        self.session.set_backend(backend, ref=ref)
        self.model_label.setText(model_text(backend))
        self._show_tier()
        if self.session.frame is not None:
            self._install_sheet()

    def switch_tier(self, tier: str) -> asyncio.Task | None:
        """Fast or Accurate: switch to that tier's catalogued model (results stay cached)."""
        from fastsheet.models import tier_model

        try:
            path = tier_model(tier)
        except FastsheetError as exc:
            self.show_error(str(exc))
            self._show_tier()
            return None
        threads = getattr(self.session.backend, "n_threads", None) if self.session else None
        return self.switch_model(path, threads)

    def _show_tier(self) -> None:
        from fastsheet.models import tier_of

        backend = self.session.backend if self.session else None
        tier = tier_of(Path(getattr(backend, "path", ""))) if backend is not None else None
        for name, action in self.tier_actions.items():
            action.setChecked(name == tier)


def model_text(backend) -> str:
    quant = getattr(backend, "quantization", "")
    threads = getattr(backend, "n_threads", "")
    return f"{backend.name} · {quant} · {threads} threads"
