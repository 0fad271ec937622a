"""QApplication + qasync loop: loads the model off the loop and wires the core into the window."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from pathlib import Path

import qasync
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication

from fastsheet.data.errors import FastsheetError
from fastsheet.data.paths import PROJECT_ROOT, default_cache_path
from fastsheet.files.project import AppState
from fastsheet.kinds import kind_of
from fastsheet.session import Session
from fastsheet.sheet.cache import ResultCache
from ui import palette
from ui.main_window import MainWindow

log = logging.getLogger(__name__)

SAMPLES = PROJECT_ROOT / "resources" / "samples"
ICON = PROJECT_ROOT / "resources" / "fastsheet.svg"


class StallMeter:
    """A 10 ms timer heartbeat; the longest gap beyond its interval is an event-loop stall."""

    def __init__(self, interval_ms: int = 10) -> None:
        self.interval = interval_ms / 1000
        self.max_stall = 0.0
        self._last = time.perf_counter()
        self._timer = QTimer()
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._beat)

    def start(self) -> None:
        self._last = time.perf_counter()
        self.max_stall = 0.0
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _beat(self) -> None:
        now = time.perf_counter()
        self.max_stall = max(self.max_stall, now - self._last - self.interval)
        self._last = now


def application() -> QApplication:
    """The app: HiDPI scaling without rounding, the desktop's light or dark palette, icon."""
    app = QApplication.instance()
    if app is None:
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
            Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
        )
        app = QApplication(sys.argv[:1])
    app.setApplicationName("fastsheet")
    app.setDesktopFileName("fastsheet")
    app.setWindowIcon(QIcon(str(ICON)))
    palette.apply(app)  # with the stylesheet
    palette.follow_system(app)
    return app


def create_window(state: AppState | None = None) -> MainWindow:
    return MainWindow(None, state or AppState(), SAMPLES)


async def start(
    window: MainWindow,
    model: str | None = None,
    threads: int | None = None,
    cache_path: Path | None = None,
) -> Session | None:
    """Load the model in a worker thread, then give the window its session."""
    from fastsheet.backends.llama_backend import LlamaBackend
    from fastsheet.backends.models import resolve_model

    loop = asyncio.get_running_loop()
    try:
        path = resolve_model(model)
        backend = await loop.run_in_executor(
            None, lambda: LlamaBackend(path, n_threads=threads, keep_states=True)
        )
    except FastsheetError as exc:
        window.model_label.setText("No model")
        window.show_error(f"{exc} Choose a model under Model….")
        return None
    cache = ResultCache(cache_path or default_cache_path())
    if cache.warning:
        window.show_error(cache.warning)
    session = Session(backend, cache, window.state, loop=loop)
    window.set_session(session)
    return session


def main(path: str | None = None, model: str | None = None) -> int:
    """Open the window (on `path` if given) and run until it closes."""
    app = application()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    window = create_window()
    window.show()
    closed = asyncio.Event()
    app.aboutToQuit.connect(closed.set)

    async def boot() -> None:
        session = await start(window, model)
        if session is not None and path:
            task = window.open_path(Path(path))
            if task is not None:
                await task

    with loop:
        loop.create_task(boot())
        loop.run_until_complete(closed.wait())
    shutdown(window)
    exit_now(0)
    return 0


def shutdown(window: MainWindow) -> None:
    """Stop the worker and free the model before Python tears down."""
    session = window.session
    if session is not None:
        session.close()
        session.backend.close()
        session.cache.close()
    window.deleteLater()


def exit_now(code: int) -> None:
    """End the process once the app has shut down cleanly.

    Everything is saved and closed by then; skipping the interpreter's final garbage
    collection avoids a crash in Qt/shiboken teardown ("bool_dealloc") seen at exit."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def shot(
    data: str,
    rule_text: str | None,
    out: str,
    kind: str = "flag",
    labels: str | None = None,
    scale: str = "1-5",
    timeout: float = 60.0,
    model: str | None = None,
) -> int:
    """Open the real window, add a rule, wait until it settles (or timeout), save a PNG."""
    app = application()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    window = create_window()
    window.remember_layouts = False  # the same frame every time, and the user's layouts untouched
    window.show()
    result = {"code": 0}

    async def run() -> None:
        session = await start(window, model)
        if session is None:
            result["code"] = 2
            return
        task = window.open_path(Path(data))
        if task is not None:
            await task
        if window.last_error() or session.evaluator is None:
            log.error("%s", window.last_error())
            result["code"] = 2
            return
        if rule_text:
            column_kind = kind_of(kind)
            options = {"labels": labels or "", "scale": scale}
            column_kind.make(
                rule_text, "rule", options, None
            )  # a bad rule fails before the window changes
            window.add_rule(column_kind.kind)
            window.set_rule(column_kind.make(rule_text, window.selected_rule(), options, None))
            window._select(window.selected_rule())
        elif session.order:  # a project: its last column (e.g. the judge over the replies)
            window._select(session.order[-1])
        try:
            await session.evaluator.wait_idle(timeout)
        except TimeoutError:
            log.info("not settled after %.0f s; taking the screenshot anyway", timeout)
        window._refresh_panels()
        await asyncio.sleep(0.3)
        window.grab().save(out)
        window.close()

    with loop:
        loop.run_until_complete(run())
    shutdown(window)
    exit_now(result["code"])
    return result["code"]
