"""Open a 1,000,000-row CSV in the real window (offscreen) and measure, in this process:
the time from the open request to the grid's first paint, the memory the sheet adds,
and the longest event-loop stall while a rule evaluates and the grid scrolls.

Run as `python -m bench.scale CSV` (a subprocess of the benchmark); prints JSON.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_mb() -> float:
    """The peak resident size since the last reset_peak() (Linux VmHWM)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak() -> None:
    """Forget the peak so far (model loading), so only the file's cost is measured."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def main(csv: Path) -> dict:
    import qasync

    from fastsheet.kinds.rules import Rule
    from ui.app import StallMeter, application, create_window, shutdown, start

    app = application()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    window = create_window()
    window.show()
    out: dict = {"file_mb": csv.stat().st_size / 1e6}

    async def run() -> None:
        await start(window)
        app.processEvents()
        base = rss_mb()
        reset_peak()
        started = time.perf_counter()
        await window.open_path(csv)
        window.table.viewport().repaint()
        app.processEvents()
        out["open_s"] = time.perf_counter() - started
        out["rows"] = window.model.rowCount()
        out["added_mb"] = max(0.0, peak_mb() - base)
        out["peak_mem_ratio"] = out["added_mb"] / out["file_mb"]
        started = time.perf_counter()
        window.add_rule()
        window.set_rule(Rule("The {text} sounds positive.", name=window.selected_rule()))
        out["add_rule_ms"] = 1000 * (time.perf_counter() - started)  # one user action
        meter = StallMeter()
        meter.start()
        bar = window.table.verticalScrollBar()
        for i in range(60):
            bar.setValue(min(bar.maximum(), bar.value() + 37 + 997 * (i % 7)))
            await asyncio.sleep(0.1)
        meter.stop()
        out["max_stall_ms"] = 1000 * meter.max_stall
        window.session.evaluator.cancel()
        window.close()

    with loop:
        loop.run_until_complete(run())
    shutdown(window)
    return out


if __name__ == "__main__":
    from ui.app import exit_now

    print(json.dumps(main(Path(sys.argv[1]))), flush=True)
    exit_now(0)
