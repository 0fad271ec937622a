"""Loop latency of the live engine on 1,000 reviews with the default model.

Reports the time from an edit to: the first visible screen (30 rows) done, the running
estimate's interval within ±5 points, and the complete column; and the cancel latency,
from submitting generation g+1 to the end of g's last batch (median of repeats).
`python -m bench.engine [--rows N] [--repeats K]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import time
from pathlib import Path

import polars as pl

from fastsheet.backends.base import Backend
from fastsheet.backends.llama_backend import LlamaBackend
from fastsheet.backends.models import resolve_model
from fastsheet.kinds.rules import Rule
from fastsheet.sheet.cache import NoCache
from fastsheet.sheet.engine import ColumnEvent, Evaluator, Update

DATA = Path(__file__).parent / "data" / "reviews.csv"
SCREEN = 30
log = logging.getLogger("bench.engine")


class TimedBackend(Backend):
    """Delegates to the real backend and notes when each batch of each rule ends."""

    def __init__(self, backend: LlamaBackend) -> None:
        self._backend = backend
        self.identity, self.name, self.framing = backend.identity, backend.name, backend.framing
        self.ends: list[tuple[str, float]] = []

    def judge(self, rule, records):
        answers = self._backend.judge(rule, records)
        self.ends.append((rule.text, time.perf_counter()))
        return answers

    def batch_size(self) -> int:
        return self._backend.batch_size()


async def loop_latency(backend: LlamaBackend, frame: pl.DataFrame, rule: Rule) -> dict:
    timed = TimedBackend(backend)
    ev = Evaluator(frame, timed, cache=NoCache())
    ev.set_visible(range(SCREEN))
    marks: dict[str, float] = {}
    screen_left = set(range(SCREEN))

    def on_event(e) -> None:
        now = time.perf_counter()
        if isinstance(e, Update) and e.source in ("model", "cache"):
            screen_left.difference_update(e.rows)
            if not screen_left:
                marks.setdefault("first_screen_s", now)
            s = ev.summary(rule.name)
            if s.done >= 10 and s.margin <= 0.05:
                marks.setdefault("estimate_5pt_s", now)
        if isinstance(e, ColumnEvent) and e.kind == "complete":
            marks.setdefault("full_column_s", now)

    ev.subscribe(on_event)
    start = time.perf_counter()
    ev.set_rule(rule)
    await ev.wait_idle()
    ev.close()
    out = {k: v - start for k, v in marks.items()}
    out["rows_per_s"] = ev.rows_per_s
    out["summary"] = ev.summary(rule.name).text()
    return out


async def cancel_latency(backend: LlamaBackend, frame: pl.DataFrame, repeats: int) -> dict:
    timed = TimedBackend(backend)
    ev = Evaluator(frame, timed, cache=NoCache())
    latencies = []
    for i in range(repeats):
        old = Rule(f"The review is positive. (take {i})")
        ev.set_rule(old)
        await asyncio.sleep(3.0)  # let batches grow to full size
        submitted = time.perf_counter()
        ev.set_rule(Rule(f"The review is negative. (take {i})"))
        await asyncio.sleep(4.0)
        last_old = max(t for text, t in timed.ends if text == old.text)
        latencies.append(max(0.0, last_old - submitted))
    ev.cancel()
    ev.close()
    return {"cancel_latency_s": statistics.median(latencies), "cancel_latencies_s": latencies}


def run(model: str | None = None, rows: int = 1000, repeats: int = 5) -> dict:
    backend = LlamaBackend(resolve_model(model))
    frame = pl.read_csv(DATA).sample(rows, seed=0).select("source", "review")
    try:
        rule = Rule("The review is positive.")
        backend.judge(rule, ["review: warm-up"])
        result = asyncio.run(loop_latency(backend, frame, rule))
        result.update(asyncio.run(cancel_latency(backend, frame, repeats)))
        result["rows"] = rows
        return result
    finally:
        backend.close()


def table(r: dict) -> str:
    return "\n".join(
        [
            "| measure (1,000 reviews, no cache) | seconds |",
            "|---|---|",
            f"| edit → first visible screen (30 rows) done | {r['first_screen_s']:.2f} |",
            f"| edit → estimate within ±5 points | {r['estimate_5pt_s']:.2f} |",
            f"| edit → complete column | {r['full_column_s']:.1f} |",
            f"| cancel latency (median of {len(r['cancel_latencies_s'])}) | {r['cancel_latency_s']:.2f} |",
            f"| engine throughput | {r['rows_per_s']:.1f} rows/s |",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--model")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    result = run(args.model, args.rows, args.repeats)
    (Path(__file__).parent / "engine.json").write_text(json.dumps(result, indent=2))
    print(table(result))


if __name__ == "__main__":
    main()
