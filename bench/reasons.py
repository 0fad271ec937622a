"""Reasons measured: does a reason state the verdict its column shows, and name its row?

`python -m bench.reasons [--models qwen2.5-coder-1.5b,qwen2.5-coder-0.5b]` asks a reason
for every row of two sets, through the app's own path (`Evaluator.explain`):
- the support sample: its 30 replies (written by its text rule) judged by `on_policy`;
- 30 dev-suite rows: 10 seeded rows each of reviews, spam_emails and sarcasm.
Per set: how many reasons open with the verdict shown, how many open with the other answer
(shown as "reason disagrees"), and how many name something of their own row (a word of
4+ letters of the record that is not in the rule). bench/reasons.json and a table on docs/accuracy.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
from pathlib import Path

import numpy as np
import polars as pl

from bench.report import write_block
from bench.tasks import DATA, load_tasks
from fastsheet.backends.llama_backend import LlamaBackend
from fastsheet.backends.models import CATALOGUE, models_dir
from fastsheet.data.paths import default_cache_path
from fastsheet.files.project import load_project
from fastsheet.kinds.rules import Rule
from fastsheet.sheet.cache import ResultCache
from fastsheet.sheet.engine import Evaluator

HERE = Path(__file__).parent
OUT = HERE / "reasons.json"
SAMPLES = HERE.parent / "resources" / "samples"
START, END = "<!-- reasons:start -->", "<!-- reasons:end -->"
DEV_TASKS = ("reviews", "spam_emails", "sarcasm")
log = logging.getLogger("bench.reasons")


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]{4,}", text.lower()))


async def _explained(frame: pl.DataFrame, rules: list[Rule], name: str, backend, cache) -> dict:
    """Judge `rules` over `frame`, then a reason for every row of rule `name`."""
    ev = Evaluator(frame, backend, cache)
    try:
        for rule in rules:
            ev.set_rule(rule)
        await ev.wait_idle()
        column = ev.columns[name]
        rows = list(range(frame.height))
        ev.explain(name, rows)
        await ev.wait_idle()
        records = column.runner.records(rows)  # type: ignore[union-attr]
        out = {"rows": 0, "states_verdict": 0, "disagrees": 0, "names_row": 0, "examples": []}
        rule_words = _words(column.rule.text) | {"because", "text", "answer", "rule"}
        for row, record in zip(rows, records, strict=True):
            reason = ev.reason(name, row)
            if reason is None:
                continue
            out["rows"] += 1
            opening = reason.text.lower().lstrip("\"' ")
            out["states_verdict"] += opening.startswith(reason.verdict.lower())
            out["disagrees"] += reason.disagrees
            out["names_row"] += bool(_words(reason.text) & (_words(record) - rule_words))
            if len(out["examples"]) < 3:
                out["examples"].append({"verdict": reason.verdict, "reason": reason.text})
        return out
    finally:
        ev.close()


def run(model: str) -> dict:
    backend = LlamaBackend(models_dir() / CATALOGUE[model].filename)
    cache = ResultCache(default_cache_path())
    try:
        project = load_project(SAMPLES / "support.fastsheet")
        support = pl.read_csv(project.data)
        sets = {"support replies (on_policy)": (support, project.rules, "on_policy")}
        for task in load_tasks(list(DEV_TASKS)):
            frame = pl.read_csv(DATA / task.file).drop("gold")
            rows = np.random.default_rng(7).permutation(frame.height)[:10]
            sets[f"{task.name} (dev)"] = (frame[rows.tolist()], [task.rule], task.rule.name)
        out = {}
        for label, (frame, rules, name) in sets.items():
            out[label] = asyncio.run(_explained(frame, rules, name, backend, cache))
            log.info(
                "%s / %s: %s",
                model,
                label,
                {k: v for k, v in out[label].items() if k != "examples"},
            )
        return out
    finally:
        backend.close()
        cache.close()


def table(results: dict) -> str:
    lines = [
        "| model | set | reasons | open with the verdict | argue the other way | name their row |",
        "|---|---|---|---|---|---|",
    ]
    for model, sets in results.items():
        for label, r in sets.items():
            n = r["rows"] or 1
            lines.append(
                f"| {model} | {label} | {r['rows']} | {r['states_verdict'] / n:.0%} | "
                f"{r['disagrees'] / n:.0%} | {r['names_row'] / n:.0%} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", default="qwen2.5-coder-1.5b,qwen2.5-coder-0.5b")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    results = json.loads(OUT.read_text()) if OUT.exists() else {}
    for model in args.models.split(","):
        results[model] = run(model)
        OUT.write_text(json.dumps(results, indent=1) + "\n")
    text = table(results)
    write_block(text, START, END)
    print(text)


if __name__ == "__main__":
    main()
