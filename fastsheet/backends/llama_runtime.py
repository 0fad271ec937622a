"""llama.cpp process-wide set-up: its log routed to Python logging, and the thread count."""

from __future__ import annotations

import atexit
import ctypes
import logging
import os

_log_callback = None  # kept alive: llama.cpp holds a pointer to it


def route_llama_log(llama_cpp) -> None:
    """Send llama.cpp's own log lines to Python logging (debug), not to stderr."""
    global _log_callback
    if _log_callback is not None:
        return
    llama_log = logging.getLogger("llama.cpp")

    @llama_cpp.llama_log_callback
    def callback(level: int, text: bytes, _user: ctypes.c_void_p) -> None:
        if llama_log.isEnabledFor(logging.DEBUG):
            llama_log.debug(text.decode("utf-8", errors="replace").rstrip())

    _log_callback = callback
    llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))
    # never call back into Python while the interpreter shuts down
    atexit.register(llama_cpp.llama_log_set, ctypes.cast(None, llama_cpp.llama_log_callback), None)


def default_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
