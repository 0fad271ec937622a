"""Split into steps, measured: is the proposal valid and equivalent, and what does it do to
accuracy and to the rows the model judges?

`python -m bench.split [--rows N] [--model NAME]` writes bench/split.json. For the
candidates sample and four compound rules over the dev suite (a dev task's rule joined
with an exact part; gold = the task's gold and the exact part), it judges the compound
rule as one prompt over every row, then the proposed steps, through the live engine with
an empty cache, and reports balanced accuracy against gold and the records the model
judged (content-free probes apart).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
from pathlib import Path

import polars as pl

from bench.conditions import Counting, judge
from fastsheet.backends.llama_backend import LlamaBackend
from fastsheet.backends.models import resolve_model
from fastsheet.kinds import kind_of
from fastsheet.kinds.rules import Rule
from fastsheet.plans.split import propose_split
from fastsheet.stats.metrics import binary_agreement

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).parent / "split.json"
log = logging.getLogger("bench.split")

#: (data, compound rule, gold column, the exact parts a person would write, gold's exact part)
CASES = [
    ("resources/samples/candidates.csv",
     "At least 5 years of experience with Python, and has led a team", "qualifies",
     ["years_experience >= 5", 'contains(skills, "Python")'], None),
    ("bench/data/reviews.csv", "The review is from yelp and is positive.", "gold",
     ['source = "yelp"'], pl.col("source") == "yelp"),
    ("bench/data/reviews.csv", "The review is positive and is shorter than 60 characters.",
     "gold", ["len(review) < 60"], pl.col("review").str.len_chars() < 60),
    ("bench/data/sarcasm.csv", "The statement is sarcastic and is longer than 80 characters.",
     "gold", ["len(statement) > 80"], pl.col("statement").str.len_chars() > 80),
    ("bench/data/spam_emails.csv",
     "The email is spam and the body is shorter than 200 characters.", "gold",
     ["len(body) < 200"], pl.col("body").str.len_chars() < 200),
]  # fmt: skip


def judged(backend: Counting, ev, names: list[str], height: int) -> int:
    records: set[str] = set()
    for name in names:
        records |= set(ev.columns[name].runner.records(range(height)))
    return sum(r in records for r in backend.records)


async def measure(backend: LlamaBackend, case: tuple, rows: int) -> dict:
    path, text, gold_column, expected, gold_exact = case
    frame = pl.read_csv(ROOT / path)
    if frame.height > rows:
        frame = frame.sample(rows, seed=0)
    gold = frame[gold_column].to_numpy().astype(bool)
    if gold_exact is not None:
        gold &= frame.select(gold_exact).to_series().to_numpy()
    data = frame.drop(gold_column)
    split = propose_split(Rule(text, name="compound"), data)
    out: dict = {"data": path, "rule": text, "rows": frame.height, "gold_yes": int(gold.sum())}
    out["valid"] = split.ok
    if not split.ok:
        out["reason"] = split.reason
        return out
    exact = [s.text for s in split.steps[:-1] if not kind_of(s.kind).judged]
    out["steps"] = [f"{s.name} = {s.text}" + (f" (only where {s.where})" if s.where else "")
                    for s in split.steps]  # fmt: skip
    out["equivalent"] = exact == expected

    whole = Counting(backend)
    ev, seconds = await judge(data, [Rule(text, name="compound")], whole)
    one = binary_agreement(ev.values_of("compound").fill_null(False).to_numpy(), gold)
    out["one_prompt"] = {
        "balanced_accuracy": round(one.balanced_accuracy, 3),
        "model_records": judged(whole, ev, ["compound"], data.height),
        "seconds": round(seconds, 1),
    }
    ev.close()

    steps = Counting(backend)
    ev, seconds = await judge(data, [s.rule() for s in split.steps], steps)
    fuzzy = [s.name for s in split.steps[:-1] if kind_of(s.kind).judged]
    agreed = binary_agreement(ev.values_of("compound").fill_null(False).to_numpy(), gold)
    out["split"] = {
        "balanced_accuracy": round(agreed.balanced_accuracy, 3),
        "model_records": judged(steps, ev, fuzzy, data.height),
        "seconds": round(seconds, 1),
    }
    ev.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=150, help="rows per dev set (sampled)")
    parser.add_argument("--model", default=None, help="a catalogued model (default: the default)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    backend = LlamaBackend(resolve_model(args.model))
    result: dict = {"model": backend.name, "cases": []}
    try:
        for case in CASES:
            rows = 10**9 if "candidates" in case[0] else args.rows
            result["cases"].append(asyncio.run(measure(backend, case, rows)))
            log.info("%s", result["cases"][-1])
            OUT.write_text(json.dumps(result, indent=2) + "\n")
    finally:
        backend.close()
    print(table(result))


def table(result: dict) -> str:
    lines = [
        "| compound rule | rows | proposal | balanced accuracy: one prompt → split "
        "| model records: one prompt → split |",
        "|---|---|---|---|---|",
    ]
    for c in result["cases"]:
        if not c["valid"]:
            lines.append(f"| {c['rule']} | {c['rows']} | not split: {c['reason']} | — | — |")
            continue
        verdict = "valid, equivalent" if c["equivalent"] else "valid, not equivalent"
        one, split = c["one_prompt"], c["split"]
        lines.append(
            f"| {c['rule']} | {c['rows']} | {verdict} | {one['balanced_accuracy']:.2f} → "
            f"{split['balanced_accuracy']:.2f} | {one['model_records']} → "
            f"{split['model_records']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
