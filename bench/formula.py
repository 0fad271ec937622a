"""Formula columns: how long a 1,000,000-row formula takes, parsed and computed.

`python -m bench.formula [--rows 1000000]` writes bench/formula.json: the median of 5 runs
of the formula alone (parse and compute, polars), and through the live engine (an edit
until the column is complete, computed off the event loop), for three formulas.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import statistics
import time
from pathlib import Path

import numpy as np
import polars as pl

from fastsheet.backends.base import FakeBackend
from fastsheet.formula.parser import parse_formula
from fastsheet.kinds.rules import Kind, Rule
from fastsheet.sheet.engine import Evaluator

OUT = Path(__file__).parent / "formula.json"
FORMULAS = {
    "exact filter": 'years_experience >= 5 and contains(skills, "Python")',
    "dates and text": 'joined >= "2021-06-01" and not is_empty(trim(city)) and len(skills) > 20',
    "arithmetic and if": "if(years_experience > 10, salary * 1.1, salary) / 1000 + 0.5",
}
log = logging.getLogger("bench.formula")


def frame(rows: int) -> pl.DataFrame:
    rng = np.random.default_rng(0)
    skills = np.array(
        ["Python, SQL", "Java, Go", "TypeScript, React, Python", "Excel", "C++, Rust"]
    )
    cities = np.array(["Oslo", "Lima", "", "Warsaw", "  "])
    start = dt.date(2018, 1, 1)
    return pl.DataFrame(
        {
            "years_experience": rng.integers(0, 20, rows),
            "skills": skills[rng.integers(0, len(skills), rows)],
            "city": cities[rng.integers(0, len(cities), rows)],
            "salary": rng.normal(60_000, 15_000, rows),
            "days": rng.integers(0, 2000, rows),
        }
    ).select(pl.exclude("days"), (pl.lit(start) + pl.duration(days=pl.col("days"))).alias("joined"))


def formula_alone(data: pl.DataFrame, text: str, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        parse_formula(text, data.schema).evaluate(data)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def through_engine(data: pl.DataFrame, text: str, repeats: int = 5) -> float:
    async def main() -> float:
        ev = Evaluator(data, FakeBackend())
        times = []
        try:
            for i in range(repeats):
                start = time.perf_counter()
                ev.set_rule(Rule(f"{text} {'' if i % 2 else ' '}", name="f", kind=Kind.FORMULA))
                await ev.wait_idle(60)
                times.append(time.perf_counter() - start)
        finally:
            ev.close()
        return statistics.median(times)

    return asyncio.run(main())


def run(rows: int) -> dict:
    data = frame(rows)
    out: dict = {"rows": rows, "formulas": {}}
    for name, text in FORMULAS.items():
        out["formulas"][name] = {
            "formula": text,
            "alone_ms": 1000 * formula_alone(data, text),
            "edit_to_complete_ms": 1000 * through_engine(data, text),
        }
        log.info("%s: %s", name, out["formulas"][name])
    OUT.write_text(json.dumps(out, indent=2))
    return out


def table(r: dict) -> str:
    lines = [
        f"{r['rows']:,} rows, median of 5 runs:",
        "",
        "| formula | parse + compute | edit → complete column (engine, off the loop) |",
        "|---|---|---|",
    ]
    for v in r["formulas"].values():
        lines.append(
            f"| `{v['formula']}` | {v['alone_ms']:.0f} ms | {v['edit_to_complete_ms']:.0f} ms |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.info("\n%s", table(run(args.rows)))


if __name__ == "__main__":
    main()
