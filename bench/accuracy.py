"""Answer quality over the whole dev suite (bench/data, 12 tasks), per model and threshold mode.

`python -m bench.accuracy [--rows N] [--models a,b] [--framings f,g] [--tasks x,y] [--shots K]`
prints Markdown tables and writes bench/accuracy.json. For every task it scores a seeded
sample of N rows (default 300) with no labels (each threshold mode), and again taught from
K labeled rows of the same task (default 16, drawn balanced from rows outside the sample):
up to 8 become examples in the prompt and the threshold is cross-fitted on all K.
The figures to optimize are the mean balanced accuracy over the flag tasks and the worst task.
The learning curve is `python -m bench.learn`.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl

from bench.report import write_block
from bench.tasks import DATA, Task, load_tasks, split, task_gold
from fastsheet.backends.base import Backend
from fastsheet.backends.framing import Framing
from fastsheet.backends.models import CATALOGUE, models_dir
from fastsheet.data.paths import default_cache_path
from fastsheet.kinds.rules import Kind
from fastsheet.learning.teach import teach
from fastsheet.sheet.cache import ResultCache
from fastsheet.sheet.runner import RuleRunner, evaluate
from fastsheet.stats.calibrate import Calibration, Mode, calibrate_flag, calibrate_label
from fastsheet.stats.metrics import auc, binary_agreement, multiclass_balanced_accuracy

OUT = Path(__file__).parent / "accuracy.json"


START, END = "<!-- accuracy:start -->", "<!-- accuracy:end -->"


FLAG_MODES = (Mode.NONE, Mode.CONTENT_FREE, Mode.DISTRIBUTION, Mode.MIXTURE)


log = logging.getLogger("bench.accuracy")


def run_task(backend: Backend, cache: ResultCache, task: Task, rows: int, shots: int) -> dict:
    frame = pl.read_csv(DATA / task.file)
    scored, labeled = split(frame, task, rows, shots)
    runner = RuleRunner(frame, task.rule, backend, cache, exclude=["gold"])
    gold = task_gold(task, frame["gold"])
    start = time.perf_counter()
    result = evaluate(RuleRunner(frame[scored], task.rule, backend, cache, exclude=["gold"]))
    seconds = time.perf_counter() - start
    g = gold[scored]
    out: dict = {"rows": len(scored), "seconds": seconds}
    if task.rule.kind is Kind.FLAG:
        p = result.p_yes()
        g = g.astype(bool)
        out["auc"] = auc(p, g)
        out["true_rate"] = float(g.mean())
        out["p_yes"] = _rounded(p)  # per row, for offline threshold studies (bench.thresholds)
        out["gold"] = [bool(x) for x in g]
        p_cf = [a.p for a in runner.content_free_answers()]
        out["content_free_p"] = _rounded(p_cf)
        for mode in FLAG_MODES:
            cal = calibrate_flag(mode, p_yes=p, content_free_p=p_cf)
            out[mode.value] = _flag_scores(p >= cal.threshold, g)
    else:
        cf = np.asarray([a.probs for a in runner.content_free_answers()])
        for mode, cal in (
            (Mode.NONE, Calibration()),
            (Mode.CONTENT_FREE, calibrate_label(Mode.CONTENT_FREE, cf)),
        ):
            pred, _ = result.decide(cal)
            out[mode.value] = {"balanced_accuracy": multiclass_balanced_accuracy(pred, g)}
    if shots:
        out["taught"] = _taught(backend, cache, frame, task, scored, labeled, gold)
    return out


def _taught(
    backend: Backend,
    cache: ResultCache,
    frame: pl.DataFrame,
    task: Task,
    scored: list[int],
    labeled: list[int],
    gold: np.ndarray,
) -> dict:
    """Taught from `labeled` rows: examples in the prompt, the threshold cross-fitted."""
    runner = RuleRunner(frame, task.rule, backend, cache, exclude=["gold"])
    if task.rule.kind is Kind.FLAG:
        answers = [bool(gold[i]) for i in labeled]
    else:
        answers = [task.rule.labels[int(gold[i])] for i in labeled]
    lesson = teach(task.rule, runner.records(labeled), answers, runner.judge_with)
    taught = RuleRunner(frame[scored], lesson.rule, backend, cache, exclude=["gold"])
    result = evaluate(taught)
    g = gold[scored]
    if task.rule.kind is Kind.FLAG:
        p = result.p_yes()
        scores = _flag_scores(p >= lesson.calibration.threshold, g.astype(bool))
        scores["auc"] = auc(p, g.astype(bool))
        scores["p_yes"] = _rounded(p)
        return scores
    pred, _ = result.decide(lesson.calibration or Calibration())
    return {"balanced_accuracy": multiclass_balanced_accuracy(pred, g)}


def _rounded(values: Sequence[float] | np.ndarray) -> list[float]:
    return [round(float(x), 5) for x in values]


def _flag_scores(decision: np.ndarray, gold: np.ndarray) -> dict:
    a = binary_agreement(decision, gold)
    return {
        "balanced_accuracy": a.balanced_accuracy,
        "accuracy": a.accuracy,
        "flag_rate": float(decision.mean()),
    }


def summarize(per_task: dict[str, dict], tasks: list[Task]) -> dict:
    """Mean and worst balanced accuracy over the flag tasks, per mode; label macro recall."""
    flags = [t.name for t in tasks if t.rule.kind is Kind.FLAG and t.name in per_task]
    labels = [t.name for t in tasks if t.rule.kind is Kind.LABEL and t.name in per_task]
    out: dict = {}
    modes = [m.value for m in FLAG_MODES] + ["taught"]
    for mode in modes:
        values = [per_task[n][mode]["balanced_accuracy"] for n in flags if mode in per_task[n]]
        if values:
            worst = min(flags, key=lambda n: per_task[n].get(mode, {}).get("balanced_accuracy", 1))
            out[mode] = {
                "mean": float(np.mean(values)),
                "worst": float(min(values)),
                "worst_task": worst,
            }
    if flags:
        out["mean_auc"] = float(np.mean([per_task[n]["auc"] for n in flags]))
    for mode in (Mode.NONE.value, Mode.CONTENT_FREE.value, "taught"):
        values = [per_task[n][mode]["balanced_accuracy"] for n in labels if mode in per_task[n]]
        if values:
            out[f"label_{mode}"] = float(np.mean(values))
    return out


def available_models(names: list[str] | None) -> list[str]:
    chosen = names or list(CATALOGUE)
    return [n for n in chosen if (models_dir() / CATALOGUE[n].filename).exists()]


def run(
    models: list[str] | None = None,
    framings: list[str] | None = None,
    tasks: list[str] | None = None,
    rows: int = 300,
    shots: int = 16,
) -> dict:
    from fastsheet.backends.llama_backend import LlamaBackend

    suite = load_tasks(tasks)
    cache = ResultCache(default_cache_path())
    results: dict = {"rows": rows, "shots": shots, "models": {}}
    try:
        for name in available_models(models):
            entry = CATALOGUE[name]
            backend = LlamaBackend(models_dir() / entry.filename)
            try:
                for framing in framings or [entry.framing.value]:
                    backend.framing = Framing(framing)
                    per_task = {}
                    for task in suite:
                        log.info("%s / %s / %s", name, framing, task.name)
                        per_task[task.name] = run_task(backend, cache, task, rows, shots)
                    results["models"].setdefault(name, {})[framing] = {
                        "tasks": per_task,
                        "summary": summarize(per_task, suite),
                    }
            finally:
                backend.close()
    finally:
        cache.close()
    return results


def _pct(x: float) -> str:
    return f"{x:.2f}"


def table(results: dict) -> str:
    """One Markdown table per model and framing: tasks as rows, modes as columns."""
    lines: list[str] = []
    for model, by_framing in results["models"].items():
        for framing, r in by_framing.items():
            tasks, s = r["tasks"], r["summary"]
            lines += [
                f"**{model}**, framing `{framing}`, {results['rows']} rows per task "
                "(balanced accuracy; flag rate / true rate in brackets):",
                "",
                "| task | AUC | p > 0.5 | content-free | Otsu | mixture | taught from "
                f"{results['shots']} labels |",
                "|---|---|---|---|---|---|---|",
            ]
            for name, t in tasks.items():
                if "auc" in t:
                    cells = [
                        f"{_pct(t[m]['balanced_accuracy'])} ({t[m]['flag_rate']:.0%} / "
                        f"{t['true_rate']:.0%})"
                        for m in ("none", "content-free", "distribution", "mixture")
                    ]
                    taught = t.get("taught")
                    tcell = (
                        f"{_pct(taught['balanced_accuracy'])} ({taught['flag_rate']:.0%})"
                        if taught
                        else "–"
                    )
                    lines.append(
                        f"| {name} | {_pct(t['auc'])} | " + " | ".join(cells) + f" | {tcell} |"
                    )
                else:
                    taught = t.get("taught")
                    lines.append(
                        f"| {name} (label, macro recall) | – | {_pct(t['none']['balanced_accuracy'])} "
                        f"| {_pct(t['content-free']['balanced_accuracy'])} | – | – | "
                        f"{_pct(taught['balanced_accuracy']) if taught else '–'} |"
                    )
            cells = [
                f"{_pct(s[m]['mean'])} (worst {_pct(s[m]['worst'])})" if m in s else "–"
                for m in ("none", "content-free", "distribution", "mixture", "taught")
            ]
            lines.append(
                f"| **flag mean** | {_pct(s.get('mean_auc', float('nan')))} | "
                + " | ".join(cells)
                + " |"
            )
            lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=300, help="rows scored per task")
    parser.add_argument(
        "--shots", type=int, default=16, help="labeled rows to teach from (0: none)"
    )
    parser.add_argument("--models", help="catalogued model names, comma-separated")
    parser.add_argument("--framings", help="framings to compare, comma-separated")
    parser.add_argument("--tasks", help="task names (file stems), comma-separated")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--no-readme", action="store_true", help="do not rewrite the tables on docs/accuracy.md"
    )
    parser.add_argument(
        "--readme-from",
        type=Path,
        metavar="JSON",
        help="only rewrite the tables on docs/accuracy.md from JSON",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    def names(text: str | None) -> list[str] | None:
        return [x.strip() for x in text.split(",")] if text else None

    if args.readme_from:
        results = json.loads(args.readme_from.read_text())
    else:
        results = run(
            names(args.models), names(args.framings), names(args.tasks), args.rows, args.shots
        )
        args.out.write_text(json.dumps(results, indent=2))
    text = table(results)
    print(text)
    if not args.no_readme:
        write_block(text, START, END)


if __name__ == "__main__":
    main()
