"""The seed's three workflows with the seed's own wordings and edits, measured honestly.

`python -m bench.seeds [--model NAME ...]` writes bench/seeds.json and the table on docs/seeds.md.
For each wording, through the live engine (keeping states, as the app does) on the
sample's rows:

- as typed: the count the app shows, the generator's true count, and balanced accuracy
  against the generator's truth (the wording's own truth: the category is not among the
  customer's usual ones; a backend engineer with N+ years who built distributed systems);
- split: what *Split into steps* proposes for the wording, and that path's count where
  it splits;
- taught: 32 labels from the generator's truth, asked in the app's "Label next" order
  (4 random, then the rows it asks for) from rows apart from the scored ones, with Learn
  from labels on, so the rule learns them (a head where cross-validation keeps it): the
  count on the scored rows.

and whether each edit moved the count the way it moved the truth. The support policy has
no truth in its generator (the replies are the model's own): its count is reported alone.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import itertools
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from bench.report import write_block
from fastsheet.backends.llama_backend import LlamaBackend
from fastsheet.backends.models import resolve_model
from fastsheet.kinds.rules import Kind, Rule
from fastsheet.learning.learned import LEARN_FROM
from fastsheet.plans.split import propose_split
from fastsheet.sheet.cache import ResultCache
from fastsheet.sheet.engine import Evaluator
from fastsheet.stats.metrics import binary_agreement

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "resources" / "samples"
OUT = Path(__file__).parent / "seeds.json"
START, END = "<!-- seeds:start -->", "<!-- seeds:end -->"
MODELS = ("qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b")
log = logging.getLogger("bench.seeds")

FRAUD = [
    ("Flag if merchant category doesn't match customer's typical spending pattern",
     "usual_spending"),
    ("Flag if merchant category doesn't match customer's last 90 days spending pattern",
     "last_90_days"),
]  # fmt: skip
CANDIDATES = [
    ("5+ years backend, distributed systems", 5),
    ("3+ years backend, distributed systems", 3),
    ("3+ years backend, distributed systems, healthcare preferred", 3),
]


def generator():
    """resources/samples/make_samples.py, imported (it is not a package)."""
    spec = importlib.util.spec_from_file_location("make_samples", SAMPLES / "make_samples.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_samples", module)
    spec.loader.exec_module(module)
    return module


def fraud_cases(rows: int, pool: int, seed: int = 3) -> tuple[pl.DataFrame, list[dict]]:
    """A seeded sample of the transactions (the gold `fraud` column kept from the model)."""
    frame = pl.read_csv(SAMPLES / "transactions.csv").sample(rows + pool, seed=seed)
    truths = {
        column: np.array(
            [c not in s.split(", ") for c, s in zip(frame["category"], frame[column], strict=True)]
        )
        for column in ("usual_spending", "last_90_days")
    }
    cases = [{"text": text, "truth": truths[column]} for text, column in FRAUD]
    return frame.drop("fraud"), cases


def candidate_cases() -> tuple[pl.DataFrame, list[dict]]:
    truth = generator().candidates(truth=True)
    backend = truth["summary"].str.starts_with("Backend engineer").to_numpy()
    distributed = truth["distributed"].to_numpy()
    years = truth["years_experience"].to_numpy()
    cases = [
        {"text": text, "truth": backend & distributed & (years >= at_least)}
        for text, at_least in CANDIDATES
    ]
    frame = pl.read_csv(SAMPLES / "candidates.csv").drop("qualifies")
    return frame, cases


async def judged(ev: Evaluator, rule: Rule) -> None:
    ev.set_rule(rule)
    await ev.wait_idle()


def decided(ev: Evaluator, name: str) -> np.ndarray:
    return ev.values_of(name).fill_null(False).to_numpy().astype(bool)


async def teach(ev: Evaluator, name: str, truth: np.ndarray, pool: np.ndarray, seed: int) -> str:
    """32 labels in the app's Label next order (4 random, then the rows it asks for)."""
    rng = np.random.default_rng(seed)
    asked = [int(r) for r in rng.choice(pool, 4, replace=False)]
    scored = np.setdiff1d(np.arange(len(truth)), pool)
    while len(asked) < LEARN_FROM:
        ev.set_marks(name, {r: bool(truth[r]) for r in asked}, teach=False)
        nxt = ev.label_next(name, 1, skip=[*scored.tolist(), *asked])
        if not nxt:
            break
        asked.append(int(nxt[0]))
    ev.set_marks(name, {r: bool(truth[r]) for r in asked})
    await ev.wait_idle()
    return ev.columns[name].taught_by


def score(values: np.ndarray, truth: np.ndarray, scored: np.ndarray) -> dict:
    v, t = values[scored], truth[scored]
    return {
        "count": int(v.sum()),
        "true_count": int(t.sum()),
        "balanced_accuracy": round(binary_agreement(v, t).balanced_accuracy, 3),
    }


async def workflow(
    backend: LlamaBackend, frame: pl.DataFrame, cases: list[dict], pool: int, seed: int
) -> list[dict]:
    """Each wording as typed, split and taught, scored on the rows outside the pool."""
    n = frame.height
    pool_rows = np.arange(n - pool, n)
    scored = np.arange(n - pool)
    out = []
    for i, case in enumerate(cases):
        cache = ResultCache(Path(tempfile.mkdtemp()) / "seeds.sqlite")
        ev = Evaluator(frame, backend, cache)
        rule = Rule(case["text"], name=f"seed{i}", kind=Kind.FLAG, learn=True)
        start = time.perf_counter()
        await judged(ev, rule)
        row = {"text": case["text"], "seconds": round(time.perf_counter() - start, 1)}
        row["typed"] = score(decided(ev, rule.name), case["truth"], scored)
        split = propose_split(rule, frame)
        row["split"] = {"reason": split.reason} if not split.ok else {"steps": []}
        if split.ok:
            for step in split.steps:
                ev.set_rule(step.rule())
            await ev.wait_idle()
            row["split"] = score(decided(ev, rule.name), case["truth"], scored)
            row["split"]["steps"] = [f"{s.name}: {s.text}" for s in split.steps]
            await judged(ev, rule)  # the rule as typed again, to teach it
        row["taught_by"] = await teach(ev, rule.name, case["truth"], pool_rows, seed)
        row["taught"] = score(decided(ev, rule.name), case["truth"], scored)
        ev.close()
        cache.close()
        log.info("%s", json.dumps(row))
        out.append(row)
    moves(out)
    return out


def moves(rows: list[dict]) -> None:
    """Each edit: which way the truth moved, and which way each mode's count did."""
    for before, after in itertools.pairwise(rows):
        truth = direction(before["typed"]["true_count"], after["typed"]["true_count"])
        after["truth_moved"] = truth
        for mode in ("typed", "split", "taught"):
            if "count" in before.get(mode, {}) and "count" in after.get(mode, {}):
                moved = direction(before[mode]["count"], after[mode]["count"])
                after[mode]["moved"], after[mode]["moved_right"] = moved, moved == truth


def direction(a: int, b: int) -> str:
    return "up" if b > a else "down" if b < a else "same"


async def support(backend: LlamaBackend) -> dict:
    project = json.loads((SAMPLES / "support.fastsheet").read_text())
    frame = pl.read_csv(SAMPLES / "support.csv")
    ev = Evaluator(frame, backend, ResultCache(Path(tempfile.mkdtemp()) / "support.sqlite"))
    for spec in project["rules"]:
        ev.set_rule(Rule(spec["text"], name=spec["name"], kind=Kind(spec["kind"]),
                         max_tokens=spec.get("max_tokens", 48)))  # fmt: skip
    await ev.wait_idle()
    summary = ev.summary("on_policy")
    ev.close()
    return {"count": int(summary.flagged), "of": frame.height, "headline": summary.text()}


def run(model: str, fraud_rows: int, pool: int) -> dict:
    backend = LlamaBackend(resolve_model(model), keep_states=True)
    try:
        fraud_frame, fraud = fraud_cases(fraud_rows, pool)
        cand_frame, cands = candidate_cases()
        result = {
            "fraud": asyncio.run(workflow(backend, fraud_frame, fraud, pool, seed=1)),
            "candidates": asyncio.run(workflow(backend, cand_frame, cands, pool, seed=2)),
            "support": asyncio.run(support(backend)),
        }
    finally:
        backend.close()
    return result


def table(results: dict) -> str:
    lines = [
        "| tier | wording | true count | as typed | split | taught (32 labels) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for model, by_flow in results.items():
        tier = "Fast" if "0.5b" in model else "default"
        for flow in ("fraud", "candidates"):
            moves(by_flow[flow])
            for row in by_flow[flow]:
                moved = f" ({row['truth_moved']})" if "truth_moved" in row else ""
                cells = [f"{row['typed']['true_count']}{moved}"]
                for mode in ("typed", "split", "taught"):
                    got = row.get(mode, {})
                    if "count" not in got:
                        cells.append("not split")
                        continue
                    arrow = f" {got['moved']}" if "moved" in got else ""
                    mark = " ✗" if got.get("moved_right") is False else ""
                    cells.append(f"{got['count']}{arrow}{mark} · {got['balanced_accuracy']:.2f}")
                lines.append(f"| {tier} | {row['text']} | " + " | ".join(cells) + " |")
        s = by_flow["support"]
        lines.append(f"| {tier} | support policy, 30 replies | no truth | {s['headline']} | | |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--fraud-rows", type=int, default=300, help="scored transactions")
    parser.add_argument("--pool", type=int, default=100, help="rows labels are drawn from")
    parser.add_argument(
        "--table", action="store_true", help="only the table on docs/seeds.md, again"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    results = json.loads(OUT.read_text()) if OUT.exists() else {}
    if not args.table:
        for model in args.models.split(","):
            results[model] = run(model, args.fraud_rows, args.pool)
            OUT.write_text(json.dumps(results, indent=1) + "\n")
    write_block(table(results), START, END)


if __name__ == "__main__":
    main()
