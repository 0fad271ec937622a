"""Do the sample projects' starter rules agree with their gold columns?

`python -m bench.samples [--model NAME] [--rules "TEXT" ...]` judges every flag rule of each
sample project that names a gold column, with no labels and taught from that column (the
threshold cross-fitted), and prints balanced accuracy and the flagged count against the truth.
`--rules` tries other wordings on the candidates sample instead. Writes bench/samples.json.
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import replace
from pathlib import Path

from fastsheet.backends.models import resolve_model
from fastsheet.data.paths import PROJECT_ROOT, default_cache_path
from fastsheet.data.table import load_table
from fastsheet.files.project import load_project
from fastsheet.kinds.rules import Kind, Rule
from fastsheet.sheet.cache import ResultCache
from fastsheet.sheet.runner import RuleRunner, default_calibration, evaluate, taught_runner
from fastsheet.sheet.summary import gold_flags
from fastsheet.stats.metrics import binary_agreement

SAMPLES = PROJECT_ROOT / "resources" / "samples"
OUT = Path(__file__).parent / "samples.json"
log = logging.getLogger("bench.samples")


def score(frame, rule: Rule, backend, cache, taught: bool) -> dict:
    gold = gold_flags(frame[rule.gold])
    runner = RuleRunner(frame, rule, backend, cache, exclude=[rule.gold])
    lesson = None
    if taught:
        runner, lesson = taught_runner(runner, gold)
    result = evaluate(runner)
    calibration = default_calibration(runner, result, lesson)
    decision = result.p_yes() >= calibration.threshold
    a = binary_agreement(decision, gold.astype(bool))
    return {
        "balanced_accuracy": a.balanced_accuracy,
        "flagged": int(decision.sum()),
        "true": int(gold.sum()),
        "rows": frame.height,
        "threshold": calibration.threshold,
        "mode": calibration.mode.value,
    }


def run(model: str | None, wordings: list[str]) -> dict:
    from fastsheet.backends.llama_backend import LlamaBackend

    backend = LlamaBackend(resolve_model(model))
    cache = ResultCache(default_cache_path())
    out: dict = {"model": backend.name, "framing": backend.framing.value, "rules": []}
    try:
        for path in sorted(SAMPLES.glob("*.fastsheet")):
            project = load_project(path)
            frame = load_table(project.data)
            rules = [r for r in project.rules if r.kind is Kind.FLAG and r.gold]
            if wordings and path.stem == "candidates":
                rules = [replace(rules[0], text=w) for w in wordings]
            elif wordings:
                continue
            for rule in rules:
                for taught in (False, True):
                    row = {"sample": path.name, "rule": rule.text, "taught": taught}
                    row.update(score(frame, rule, backend, cache, taught))
                    log.info("%s", row)
                    out["rules"].append(row)
    finally:
        backend.close()
        cache.close()
    return out


def table(results: dict) -> str:
    lines = [
        f"{results['model']}, framing `{results['framing']}`:",
        "",
        "| sample | rule | labels | balanced accuracy | flagged / true |",
        "|---|---|---|---|---|",
    ]
    for r in results["rules"]:
        labels = f"taught ({r['mode']})" if r["taught"] else f"none ({r['mode']})"
        lines.append(
            f"| {r['sample']} | {r['rule'][:70]} | {labels} | {r['balanced_accuracy']:.2f} "
            f"| {r['flagged']} / {r['true']} of {r['rows']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model")
    parser.add_argument("--rules", nargs="*", default=[], help="wordings to try on candidates")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    results = run(args.model, args.rules)
    args.out.write_text(json.dumps(results, indent=2))
    print(table(results))


if __name__ == "__main__":
    main()
