"""Compare two checkouts on the engine's latency measures, interleaved in one session.

`python -m bench.ab OTHER_CHECKOUT [--runs 5]` runs, alternately for this checkout and the
other one (each in a subprocess whose working directory is that checkout, so it imports
its own `fastsheet`):
- bench.scale's longest event-loop stall (1,000,000 rows, fresh cache each run);
- the time from an edit to the first visible screen (30 reviews) done, no cache.

It prints the medians and writes bench/ab.json. The machine is noisy: only the ratio
between the two, measured in the same run, means something.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
SCREEN = 30
log = logging.getLogger("bench.ab")


async def first_screen(model: str | None) -> float:
    """Seconds from an edit to its 30 visible rows done (default model, no cache)."""
    import polars as pl

    try:
        from fastsheet.backends.llama_backend import LlamaBackend
        from fastsheet.backends.models import resolve_model
        from fastsheet.kinds.rules import Rule
        from fastsheet.sheet.cache import NoCache
        from fastsheet.sheet.engine import Evaluator, Update
    except ImportError:  # a checkout from before the core's packages
        from fastsheet.cache import NoCache  # type: ignore[no-redef]
        from fastsheet.engine import Evaluator, Update  # type: ignore[no-redef]
        from fastsheet.llama_backend import LlamaBackend  # type: ignore[no-redef]
        from fastsheet.models import resolve_model  # type: ignore[no-redef]
        from fastsheet.rules import Rule  # type: ignore[no-redef]

    backend = LlamaBackend(resolve_model(model))
    frame = pl.read_csv(HERE / "data" / "reviews.csv").sample(300, seed=0).select("review")
    backend.judge(Rule("The review is positive."), ["review: warm-up"])
    ev = Evaluator(frame, backend, cache=NoCache())
    ev.set_visible(range(SCREEN))
    left, done = set(range(SCREEN)), asyncio.Event()

    def on_event(e: object) -> None:
        if isinstance(e, Update) and e.source in ("model", "cache"):
            left.difference_update(e.rows)
            if not left:
                done.set()

    ev.subscribe(on_event)
    start = time.perf_counter()
    ev.set_rule(Rule("The review is positive."))
    await done.wait()
    elapsed = time.perf_counter() - start
    ev.cancel()
    ev.close()
    backend.close()
    return elapsed


#: first_screen as a script, so the other checkout runs it with its own fastsheet
SCREEN_SCRIPT = "\n".join(
    [
        "import asyncio, json, time",
        "from pathlib import Path",
        "HERE, SCREEN = Path('bench'), 30",
        inspect.getsource(first_screen),
        "print(json.dumps({'s': asyncio.run(first_screen(None))}))",
    ]
)


def _run(tree: Path, args: list[str], env: dict[str, str]) -> dict:
    run = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, cwd=tree, env=env, timeout=1200
    )
    if run.returncode != 0:
        raise RuntimeError(run.stderr[-2000:])
    return json.loads(run.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("other", type=Path, help="the other checkout (e.g. a git worktree)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--stall-only", action="store_true", help="skip the first-screen measure")
    parser.add_argument("--other-first", action="store_true", help="run the other checkout first")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    trees = {"this": HERE.parent.resolve(), "other": args.other.resolve()}
    if args.other_first:
        trees = dict(reversed(list(trees.items())))
    tmp = Path(tempfile.mkdtemp(prefix="fastsheet-ab-"))
    from bench.__main__ import big_csv

    csv = big_csv(tmp, args.rows)
    out: dict[str, dict[str, list[float]]] = {k: {"stall_ms": [], "screen_s": []} for k in trees}
    for i in range(args.runs):
        for name, tree in trees.items():
            env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
            env["FASTSHEET_CACHE_DIR"] = str(tmp / f"cache-{name}-{i}")
            scale = _run(tree, ["-m", "bench.scale", str(csv)], env)
            out[name]["stall_ms"].append(scale["max_stall_ms"])
            screen = (
                {"s": float("nan")} if args.stall_only else _run(tree, ["-c", SCREEN_SCRIPT], env)
            )
            out[name]["screen_s"].append(screen["s"])
            log.info("run %d %s: stall %.0f ms, first screen %.2f s", i, name,
                     scale["max_stall_ms"], screen["s"])  # fmt: skip
    medians = {k: {m: statistics.median(v) for m, v in d.items()} for k, d in out.items()}
    result = {"runs": out, "medians": medians, "other": str(trees["other"])}
    name = "ab-stall.json" if args.stall_only else "ab.json"
    (HERE / name).write_text(json.dumps(result, indent=2))
    print(json.dumps(medians))


if __name__ == "__main__":
    main()
