"""Do label descriptions help the local model? The suite's label tasks, zero-shot, with the
labels alone and with what each label means (bench/data/label_descriptions.json).

`python -m bench.descriptions [--rows N] [--models a,b]` writes bench/descriptions.json and
the table on docs/accuracy.md between its markers: macro recall (balanced accuracy over the labels) per
task, on the same seeded rows, by argmax and under content-free calibration.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
from pathlib import Path

from bench.accuracy import available_models, run_task
from bench.report import write_block
from bench.tasks import DATA, load_tasks
from fastsheet.backends.models import CATALOGUE, models_dir
from fastsheet.data.paths import default_cache_path
from fastsheet.kinds.rules import Kind
from fastsheet.sheet.cache import ResultCache

OUT = Path(__file__).parent / "descriptions.json"
START, END = "<!-- descriptions:start -->", "<!-- descriptions:end -->"
log = logging.getLogger("bench.descriptions")


def run(models: list[str] | None, rows: int) -> dict:
    from fastsheet.backends.llama_backend import LlamaBackend

    notes = json.loads((DATA / "label_descriptions.json").read_text())
    tasks = [t for t in load_tasks() if t.rule.kind is Kind.LABEL and t.name in notes]
    cache = ResultCache(default_cache_path())
    out: dict = {"rows": rows, "models": {}}
    try:
        for name in available_models(models):
            backend = LlamaBackend(models_dir() / CATALOGUE[name].filename)
            backend.framing = CATALOGUE[name].framing
            try:
                for task in tasks:
                    described = dataclasses.replace(
                        task,
                        rule=dataclasses.replace(
                            task.rule,
                            descriptions=tuple(notes[task.name][x] for x in task.rule.labels),
                        ),
                    )
                    entry = {}
                    for variant, t in (("labels", task), ("described", described)):
                        log.info("%s / %s / %s", name, task.name, variant)
                        scores = run_task(backend, cache, t, rows, 0)
                        entry[variant] = {
                            m: scores[m]["balanced_accuracy"] for m in ("none", "content-free")
                        }
                    out["models"].setdefault(name, {})[task.name] = entry
            finally:
                backend.close()
    finally:
        cache.close()
    return out


def table(results: dict) -> str:
    lines = [
        f"Macro recall, {results['rows']} rows per task, zero-shot "
        "(argmax / content-free calibrated):",
        "",
        "| model | task | labels only | with descriptions | change (calibrated) |",
        "|---|---|---|---|---|",
    ]
    for model, per_task in results["models"].items():
        for task, r in per_task.items():
            a, b = r["labels"], r["described"]
            delta = b["content-free"] - a["content-free"]
            lines.append(
                f"| {model} | {task} | {a['none']:.2f} / {a['content-free']:.2f} | "
                f"{b['none']:.2f} / {b['content-free']:.2f} | {delta:+.2f} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=150)
    parser.add_argument("--models", help="catalogued model names, comma-separated")
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    results = run(args.models.split(",") if args.models else None, args.rows)
    OUT.write_text(json.dumps(results, indent=2) + "\n")
    text = table(results)
    print(text)
    if not args.no_readme:
        write_block(text, START, END)


if __name__ == "__main__":
    main()
