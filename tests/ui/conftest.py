"""Window fixtures: one asyncio loop on Qt, a real session, the real model, real files."""

from __future__ import annotations

import asyncio
from pathlib import Path

import polars as pl
import pytest
import qasync

from fastsheet.files.project import AppState
from fastsheet.session import Session
from fastsheet.sheet.cache import ResultCache
from tests.helpers import CountingBackend
from ui.app import create_window


@pytest.fixture(scope="session")
def loop(qapp):
    """One loop for every window test, as in the app.

    qasync leaves a closed loop's pending Qt timers registered (e.g. `wait_for`'s timeout):
    a loop per test, freed later by the garbage collector on the model thread, left timers
    firing on a deleted object minutes later."""
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    yield loop
    loop.close()
    asyncio.set_event_loop(None)


@pytest.fixture(scope="session", autouse=True)
def _clipboard_emptied(qapp):
    """Free copied data while Python is alive.

    On the offscreen platform a copy lives in a Qt global that is freed by the C exit
    handlers, after Python has finalized: freeing a Python-made QMimeData then crashes
    the process (exit 139 after every test passed). The app itself exits with os._exit."""
    yield
    qapp.clipboard().clear()


def _window(qtbot, loop, backend, tmp_path: Path):
    state = AppState(tmp_path / "state")
    window = create_window(state)
    qtbot.addWidget(window)
    counting = CountingBackend(backend)
    cache = ResultCache(tmp_path / "results.sqlite")
    session = Session(counting, cache, state, loop=loop)
    window.set_session(session)
    window.show()
    yield window, counting, loop
    session.close()
    cache.close()


@pytest.fixture
def app(qtbot, loop, backend, tmp_path: Path):
    """A window with a real session: the real model, a SQLite cache file, app state on disk."""
    yield from _window(qtbot, loop, backend, tmp_path)


@pytest.fixture
def default_app(qtbot, loop, default_backend, tmp_path: Path):
    """The same on the default tier (the model a user gets), for the starters' accuracy."""
    yield from _window(qtbot, loop, default_backend, tmp_path)


@pytest.fixture
def reviews_csv(tmp_path: Path, reviews: pl.DataFrame) -> Path:
    path = tmp_path / "reviews.csv"
    reviews.write_csv(path)
    return path
