"""The model thread runs below the window's priority; the window's thread is untouched."""

from __future__ import annotations

import asyncio
import os
import sys
import threading

import polars as pl
import pytest

from fastsheet.backends.base import FakeBackend
from fastsheet.kinds.rules import Rule
from fastsheet.sheet.engine import Evaluator
from fastsheet.sheet.priority import MODEL_NICE, lower_this_thread

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice")


def nice_of(tid: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, tid)


def test_only_the_calling_thread_is_lowered():
    main_before = nice_of(threading.get_native_id())
    seen: dict[str, int] = {}

    def work() -> None:
        assert lower_this_thread()
        seen["own"] = nice_of(threading.get_native_id())
        child = threading.Thread(
            target=lambda: seen.update(child=nice_of(threading.get_native_id()))
        )
        child.start()
        child.join()

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert seen["own"] == max(main_before, MODEL_NICE)
    assert seen["child"] == seen["own"]  # threads it starts (llama.cpp's) inherit it
    assert nice_of(threading.get_native_id()) == main_before


def test_the_model_thread_runs_below_the_loop():
    loop_nice = nice_of(threading.get_native_id())

    async def main() -> None:
        ev = Evaluator(pl.DataFrame({"text": ["a", "b", "c"]}), FakeBackend())
        ev.set_rule(Rule("is it a?"))
        await ev.wait_idle()
        worker = ev.model_thread.thread
        assert worker.native_id is not None
        assert nice_of(worker.native_id) == max(loop_nice, MODEL_NICE)
        assert nice_of(threading.get_native_id()) == loop_nice  # the loop's thread: untouched
        ev.close()

    asyncio.run(asyncio.wait_for(main(), 60))
