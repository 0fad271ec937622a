"""The model thread gives way to the window: a lower CPU priority for the calling thread.

On a laptop with few cores llama.cpp's threads take every core, and the event loop
waited its turn for the CPU (stalls of 120-200 ms while scrolling). On Linux a thread
has its own nice value, and the threads llama.cpp starts from it inherit it; elsewhere
the call changes nothing (there the priority belongs to the whole process).
"""

from __future__ import annotations

import logging
import os
import sys
import threading

log = logging.getLogger(__name__)

MODEL_NICE = 10  # on an idle machine the model runs as fast; the window comes first


def lower_this_thread(nice: int = MODEL_NICE) -> bool:
    """Run the calling thread (and threads it starts later) at `nice`; True if it did."""
    if not sys.platform.startswith("linux"):
        return False
    tid = threading.get_native_id()
    try:
        current = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, max(current, nice))
    except OSError as exc:  # e.g. a sandbox that forbids it: run at the same priority
        log.info("could not lower the model thread's priority: %s", exc)
        return False
    return True
