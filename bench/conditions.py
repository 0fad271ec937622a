"""Model calls only where needed: a rule with a condition, and a rule split into steps.

`python -m bench.conditions [--model NAME]` writes bench/conditions.json, measured through
the live engine with an empty result cache, so every answer is a model call:

- fraud: a rule over the fraud sample `only where country <> home_country`: the records the
  model judged against those of the rows the condition keeps (each distinct record is
  judged once), and the time to a complete column;
- candidates: the sample's steps (a formula, a rule over {summary} only where it holds,
  their combination): model rows and balanced accuracy of the combination against gold.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl

from fastsheet.backends.base import Backend
from fastsheet.backends.llama_backend import LlamaBackend
from fastsheet.backends.models import resolve_model
from fastsheet.files.project import load_project
from fastsheet.kinds.rules import Rule
from fastsheet.sheet.cache import ResultCache
from fastsheet.sheet.engine import Evaluator
from fastsheet.stats.metrics import binary_agreement

SAMPLES = Path(__file__).resolve().parent.parent / "resources" / "samples"
OUT = Path(__file__).parent / "conditions.json"
FRAUD_RULE = "Flag if the {category} is not one of the customer's {usual_spending}."
FRAUD_WHERE = "country <> home_country"
log = logging.getLogger("bench.conditions")


class Counting(Backend):
    """The backend, counting the records it judges (content-free probes apart)."""

    def __init__(self, backend: LlamaBackend) -> None:
        self.backend = backend
        self.identity, self.name, self.framing = backend.identity, backend.name, backend.framing
        self.records: list[str] = []

    def judge(self, rule: Rule, records: Sequence[str]):
        self.records.extend(records)
        return self.backend.judge(rule, records)

    def batch_size(self) -> int:
        return self.backend.batch_size()

    def close(self) -> None:
        pass


async def judge(
    frame: pl.DataFrame, rules: list[Rule], backend: Counting
) -> tuple[Evaluator, float]:
    cache = ResultCache(Path(tempfile.mkdtemp()) / "empty.sqlite")
    ev = Evaluator(frame, backend, cache)
    start = time.perf_counter()
    for rule in rules:
        ev.set_rule(rule)
    await ev.wait_idle()
    return ev, time.perf_counter() - start


async def fraud(backend: Counting) -> dict:
    frame = pl.read_csv(SAMPLES / "transactions.csv")
    rule = Rule(FRAUD_RULE, name="suspicious", where=FRAUD_WHERE)
    ev, seconds = await judge(frame, [rule], backend)
    keep = (frame["country"] != frame["home_country"]).to_numpy()
    runner = ev.columns["suspicious"].runner
    records = runner.records(range(frame.height))  # each row's record, as the model sees it
    kept = {r for r, k in zip(records, keep, strict=True) if k}
    judged = [r for r in backend.records if r in set(records)]  # content-free probes apart
    summary = ev.summary("suspicious")
    ev.close()
    return {
        "rows": frame.height,
        "rule": FRAUD_RULE,
        "condition": FRAUD_WHERE,
        "kept_rows": int(keep.sum()),
        "distinct_records_all_rows": len(set(records)),
        "distinct_records_kept_rows": len(kept),
        "model_calls": len(judged),
        "only_kept_rows_judged": set(judged) == kept and len(judged) == len(kept),
        "model_work_smaller": len(set(records)) / max(len(judged), 1),
        "seconds_to_complete": seconds,
        "summary": summary.text(),
    }


async def candidates(backend: Counting) -> dict:
    project = load_project(SAMPLES / "candidates.fastsheet")
    frame = pl.read_csv(SAMPLES / "candidates.csv")
    ev, seconds = await judge(frame, project.rules, backend)
    records = set(ev.columns["led_team"].runner.records(range(frame.height)))
    shortlist = ev.values_of("shortlist").fill_null(False).to_numpy()
    gold = frame["qualifies"].to_numpy()
    agreed = binary_agreement(shortlist, gold)
    out = {
        "rows": frame.height,
        "model_calls": sum(r in records for r in backend.records),  # probes apart
        "kept": int(np.asarray(ev.values_of("senior_python").to_numpy(), dtype=bool).sum()),
        "balanced_accuracy": agreed.balanced_accuracy,
        "precision": agreed.precision,
        "recall": agreed.recall,
        "seconds_to_complete": seconds,
        "summary": ev.summary("shortlist").text(),
    }
    ev.close()
    return out


def run(model: str | None) -> dict:
    backend = LlamaBackend(resolve_model(model))
    out: dict = {"model": backend.name}
    try:
        for name, measure in (("candidates", candidates), ("fraud", fraud)):
            counting = Counting(backend)
            out[name] = asyncio.run(measure(counting))
            log.info("%s: %s", name, out[name])
            OUT.write_text(json.dumps(out, indent=2))
    finally:
        backend.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="a catalogued model (default: the default)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    run(args.model)


if __name__ == "__main__":
    main()
