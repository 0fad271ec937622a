"""The app in a child process, for the crash test: `python -m tests.ui.crash_driver PHASE DIR`.

edit:    open DIR/reviews.csv, type a rule, print `READY <rows cached>` once some rows
         are judged, then keep evaluating (the parent kills it with SIGKILL).
restore: open the autosave, wait until the column is complete, print a JSON line with
         the rule text and the rows the model judged (the rest came from the cache)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import qasync

from fastsheet.backends.llama_backend import LlamaBackend
from fastsheet.backends.models import FAST_MODEL, resolve_model
from fastsheet.files.project import AppState
from fastsheet.session import Session
from fastsheet.sheet.cache import ResultCache
from tests.helpers import CountingBackend
from ui.app import application, create_window

RULE = "The review is positive."


async def edit(window, session: Session, folder: Path) -> None:
    await window.open_path(folder / "reviews.csv")
    window.add_rule()
    window.formula.editor.setPlainText(RULE)
    window.formula.flush()
    column = session.evaluator.columns["positive"]
    while int(column.result.done_mask().sum()) < 24:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # the worker writes answers to the cache as it goes
    print(f"READY {int(column.result.done_mask().sum())}", flush=True)
    await asyncio.sleep(600)  # evaluating on; the parent kills us


async def restore(window, session: Session, backend: CountingBackend) -> None:
    await window.open_path(window.state.autosave_path)
    await session.evaluator.wait_idle(300)
    column = session.evaluator.columns["positive"]
    print(
        json.dumps(
            {
                "rules": [r.text for r in session.rules()],
                "done": int(column.result.done_mask().sum()),
                "rows": len(column.result),
                "model_rows": backend.rows,
            }
        ),
        flush=True,
    )


def main(phase: str, folder: Path) -> None:
    app = application()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    state = AppState(folder / "state")
    window = create_window(state)
    window.show()
    backend = CountingBackend(LlamaBackend(resolve_model(FAST_MODEL), n_threads=2))
    session = Session(backend, ResultCache(folder / "results.sqlite"), state, loop=loop)
    window.set_session(session)
    with loop:
        if phase == "edit":
            loop.run_until_complete(edit(window, session, folder))
        else:
            loop.run_until_complete(restore(window, session, backend))
    session.close()
    sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
