"""Rules that compile, measured: the compiler against per-row judging of the same rules.

`python -m bench.compile [--models a,b] [--rows 30] [--no-per-row]` runs the dev set of
bench/compile_set.py (its rules over real and generated tables, each with its truth
written in polars). For each model it compiles every rule (the plan the model writes, the
plan the guard lets decide rows), then on a seeded sample of `--rows` rows per table
scores the compiled path (the plan's formula over the rows, its rest judged row by row
where the formula holds; a rule whose plan is not accepted is judged row by row) and
per-row judging of the rule as typed, both with the app's unlabelled threshold. Writes
bench/compile.json and the tables on docs/compile.md.

Reported: parse rate (the written plan reads and checks), exact rate (an accepted plan
that matches the truth on every row of the whole table), balanced accuracy on the sample
(mean and worst, rules with an exact part), whether any wholly fuzzy rule compiled, the
edits' directions, compile latency (p50 / p90; the first compile of a session decodes
the shared prefix), and edit -> complete column over 10,000 transactions.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
from pathlib import Path

import numpy as np
import polars as pl

from bench.compile_set import CASES, HIDDEN, Case, tables
from bench.report import write_block
from fastsheet.backends.llama_backend import LlamaBackend
from fastsheet.backends.models import resolve_model
from fastsheet.data.paths import default_cache_path
from fastsheet.data.table import load_table
from fastsheet.kinds.rules import Rule
from fastsheet.plans.compiler import compile_rule
from fastsheet.sheet.cache import ResultCache
from fastsheet.sheet.compiled import evaluate_plan, holds
from fastsheet.sheet.runner import RuleRunner, default_calibration, evaluate

OUT = Path(__file__).parent / "compile.json"
START, END = "<!-- compile:start -->", "<!-- compile:end -->"
MODELS = ("qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b")
SAMPLES = Path(__file__).resolve().parent.parent / "resources" / "samples"
log = logging.getLogger("bench.compile")


def balanced_accuracy(decision: np.ndarray, truth: np.ndarray) -> float:
    """Mean recall over the classes the truth holds (plain accuracy if it holds one)."""
    d, t = decision.astype(bool), truth.astype(bool)
    recalls = [float(np.mean(d[t == v] == v)) for v in (True, False) if np.any(t == v)]
    return float(np.mean(recalls))


def sample_rows(frame: pl.DataFrame, rows: int, seed: int = 0) -> np.ndarray:
    n = frame.height
    return np.sort(np.random.default_rng(seed).permutation(n)[: min(rows, n)])


def per_row(frame: pl.DataFrame, text: str, backend, cache, hidden) -> tuple[np.ndarray, float]:
    """The rule as typed, judged on every row: decisions and seconds per row judged."""
    runner = RuleRunner(frame, Rule(text), backend, cache, exclude=hidden)
    start = time.perf_counter()
    result = evaluate(runner)
    seconds = time.perf_counter() - start
    values, _ = result.decide(default_calibration(runner, result))
    computed = int(np.count_nonzero(result.source == 1))
    return np.nan_to_num(values).astype(bool), seconds / max(1, computed)


def run_model(model: str, rows: int, with_per_row: bool) -> dict:
    path = resolve_model(model)
    backend = LlamaBackend(path)
    cache = ResultCache(default_cache_path())
    data = tables()
    samples = {name: sample_rows(frame, rows) for name, frame in data.items()}
    out: dict = {"model": model, "rows": rows, "cases": []}
    try:
        for case in CASES:
            out["cases"].append(run_case(case, data, samples, backend, cache, with_per_row))
            log.info("%s: %s", model, json.dumps(out["cases"][-1])[:300])
            _save_partial(model, out)
        out["edit_to_column"] = edit_to_column(backend)
    finally:
        backend.close()
        cache.close()
    return out


def _save_partial(model: str, run: dict) -> None:
    """The run so far into bench/compile.json (a long run keeps what it measured)."""
    saved = json.loads(OUT.read_text()) if OUT.exists() else {}
    saved[model] = run
    OUT.write_text(json.dumps(saved, indent=1) + "\n")


def run_case(case: Case, data, samples, backend, cache, with_per_row: bool) -> dict:
    frame = data[case.table]
    hidden = HIDDEN.get(case.table, ())
    shown = frame.drop(list(hidden))
    truth = case.truth(frame).to_numpy().astype(bool)
    compiled = compile_rule(backend, case.text, shown)
    entry: dict = {
        "table": case.table,
        "text": case.text,
        "shape": case.shape,
        "what": case.what,
        "edit_of": case.edit_of,
        "direction": case.direction,
        "written": compiled.written.text(),
        "parsed": bool(compiled.written.exact or compiled.written.rest)
        and "could not be read" not in " ".join(compiled.problems),
        "problems": list(compiled.problems),
        "seconds": compiled.written.seconds,
        "accepted": compiled.accepted,
        "plan": compiled.plan.text() if compiled.plan else None,
    }
    rows = samples[case.table]
    part = shown[rows.tolist()]
    entry["truth_count"] = int(truth[rows].sum())
    entry["truth_whole_count"] = int(truth.sum())
    if compiled.plan is not None:  # the formula over the whole table
        kept = holds(compiled.plan, shown)
        entry["formula_whole_count"] = int(kept.sum())
        if not compiled.plan.rest:
            entry["exact"] = bool(np.array_equal(kept, truth))
            entry["whole_ba"] = balanced_accuracy(kept, truth)
            entry["whole_count"] = int(kept.sum())
    if with_per_row:
        typed, per_s = per_row(part, case.text, backend, cache, hidden)
        entry["per_row_ba"] = balanced_accuracy(typed, truth[rows])
        entry["per_row_count"] = int(typed.sum())
        entry["per_row_s"] = per_s
    if compiled.plan is not None:
        result, cal, _ = evaluate_plan(part, Rule(case.text), compiled.plan, backend, cache, hidden)
        mine = np.nan_to_num(result.decide(cal)[0]).astype(bool)
    elif with_per_row:
        mine = typed
    else:
        return entry
    entry["compiled_ba"] = balanced_accuracy(mine, truth[rows])
    entry["compiled_count"] = int(mine.sum())
    return entry


def edit_to_column(backend: LlamaBackend, edits: int = 3) -> dict:
    """Seconds from an edit of the fraud wording to its complete 10,000-row column (compile,
    then the formula over every row), median of `edits` after the first."""
    frame = load_table(SAMPLES / "transactions.csv").drop("fraud")
    text = "Flag if merchant category doesn't match customer's typical spending pattern"
    times = []
    for i in range(edits + 1):
        start = time.perf_counter()
        compiled = compile_rule(backend, text + " " * i, frame)
        if compiled.plan is None:
            return {"rows": frame.height, "compiled": False}
        result, cal, _ = evaluate_plan(frame, Rule(text), compiled.plan, None)
        result.decide(cal)
        times.append(time.perf_counter() - start)
    return {"rows": frame.height, "compiled": True, "seconds": statistics.median(times[1:])}


def summarize(run: dict) -> dict:
    cases = run["cases"]
    graded = [c for c in cases if c["shape"] != "fuzzy"]
    exactly = [c for c in cases if c["shape"] == "exact"]
    by_text = {c["text"]: c for c in cases}
    out = {
        "parse_rate": float(np.mean([c["parsed"] for c in cases])),
        "accepted": sum(c["accepted"] for c in graded),
        "graded": len(graded),
        "exact_rate": float(np.mean([bool(c.get("exact")) for c in exactly])),
        "fuzzy_compiled": sum(c["accepted"] for c in cases if c["shape"] == "fuzzy"),
        "fuzzy": sum(c["shape"] == "fuzzy" for c in cases),
    }
    seconds = [c["seconds"] for c in cases]
    out["latency_first"] = seconds[0]
    out["latency_p50"] = float(np.percentile(seconds[1:], 50))
    out["latency_p90"] = float(np.percentile(seconds[1:], 90))
    for path in ("compiled", "per_row"):
        scores = [c[f"{path}_ba"] for c in graded if f"{path}_ba" in c]
        if scores:
            out[f"{path}_mean"] = float(np.mean(scores))
            out[f"{path}_worst"] = float(np.min(scores))
        fuzzy = [c[f"{path}_ba"] for c in cases if c["shape"] == "fuzzy" and f"{path}_ba" in c]
        if fuzzy:
            out[f"{path}_fuzzy_mean"] = float(np.mean(fuzzy))
        edits = [
            c
            for c in cases
            if c["edit_of"] and f"{path}_count" in c and f"{path}_count" in by_text[c["edit_of"]]
        ]
        if edits:
            out[f"{path}_edits_right"] = sum(
                _direction(c[f"{path}_count"] - by_text[c["edit_of"]][f"{path}_count"])
                == c["direction"]
                for c in edits
            )
            out["edits"] = len(edits)
    whole = [c["whole_ba"] for c in exactly if "whole_ba" in c]  # plans with no rest
    out["whole_n"] = len(whole)
    out["whole_mean"] = float(np.mean(whole)) if whole else float("nan")
    out["whole_worst"] = float(np.min(whole)) if whole else float("nan")
    moved = [c for c in cases if c["edit_of"] and "formula_whole_count" in c
             and "formula_whole_count" in by_text[c["edit_of"]]]  # fmt: skip
    out["formula_edits_right"] = sum(
        _direction(c["formula_whole_count"] - by_text[c["edit_of"]]["formula_whole_count"])
        == c["direction"]
        for c in moved
    )
    out["formula_edits"] = len(moved)
    per_s = [c["per_row_s"] for c in cases if "per_row_s" in c]
    if per_s:
        out["per_row_s"] = float(np.median(per_s))
    return out


def _direction(delta: int) -> str:
    return "up" if delta > 0 else "down" if delta < 0 else "same"


def _f(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}"


def table(results: dict) -> str:
    lines = [
        f"Dev set: {len(CASES)} rules over {len({c.table for c in CASES})} tables "
        f"({sum(c.shape == 'exact' for c in CASES)} exact, "
        f"{sum(c.shape == 'mixed' for c in CASES)} mixed, "
        f"{sum(c.shape == 'fuzzy' for c in CASES)} wholly fuzzy), "
        f"{sum(bool(c.edit_of) for c in CASES)} of them edits of another; "
        "balanced accuracy on a seeded sample of each table's rows.",
        "",
        "| model | parse rate | plans accepted | exact rate (exact rules) "
        "| exact rules compiled with no rest, whole tables: mean / worst | fuzzy rules compiled "
        "| sample, accepted plans: mean / worst | sample, per row: mean / worst "
        "| edits right, compiled / per row | compile p50 / p90 (first) "
        "| edit → 10,000-row column | per row, 10,000 rows (est.) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for model, run in results.items():
        s = summarize(run)
        col = run.get("edit_to_column", {})
        est = s.get("per_row_s", 0) * col.get("rows", 10_000)
        per_row_hours = f"{est / 3600:.1f} h" if est else "–"
        to_column = f"{col['seconds']:.1f} s" if col.get("compiled") else "not compiled"
        lines.append(
            f"| {model} | {s['parse_rate']:.0%} | {s['accepted']} / {s['graded']} "
            f"| {s['exact_rate']:.0%} | {s['whole_mean']:.2f} / {s['whole_worst']:.2f} "
            f"({s['whole_n']} of {len([c for c in run['cases'] if c['shape'] == 'exact'])}) "
            f"| {s['fuzzy_compiled']} / {s['fuzzy']} "
            f"| {_f(s.get('compiled_mean'))} / {_f(s.get('compiled_worst'))} "
            f"| {_f(s.get('per_row_mean'))} / {_f(s.get('per_row_worst'))} "
            f"| {s.get('compiled_edits_right', '–')} / {s.get('per_row_edits_right', '–')} "
            f"of {s.get('edits', '–')} (formula alone: {s['formula_edits_right']} of "
            f"{s['formula_edits']}) "
            f"| {s['latency_p50']:.1f} s / {s['latency_p90']:.1f} s ({s['latency_first']:.0f} s) "
            f"| {to_column} | {per_row_hours} |"
        )
    lines += [
        "",
        "Per rule (the plan the guard accepted; – where the rule is judged row by row):",
        "",
    ]
    lines.append(
        "| model | table | rule | shape | plan | exact | whole table | sample: compiled | per row |"
    )
    lines.append("|---|---|---|---|---|---|---|---|---|")
    for model, run in results.items():
        for c in run["cases"]:
            plan = (c["plan"] or "–").replace("\n", "; ").replace("|", "\\|")
            exact = "" if "exact" not in c else ("✓" if c["exact"] else "✗")
            lines.append(
                f"| {model} | {c['table']} | {c['text']} | {c['shape']} | `{plan}` | {exact} "
                f"| {_f(c.get('whole_ba'))} | {_f(c.get('compiled_ba'))} | {_f(c.get('per_row_ba'))} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--rows", type=int, default=30, help="sampled rows per table")
    parser.add_argument("--no-per-row", action="store_true", help="compile only")
    parser.add_argument("--table", action="store_true", help="only the tables, again")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    results = json.loads(OUT.read_text()) if OUT.exists() else {}
    if not args.table:
        for model in args.models.split(","):
            results[model] = run_model(model, args.rows, not args.no_per_row)
            OUT.write_text(json.dumps(results, indent=1) + "\n")
    write_block(table(results), START, END)
    print(table(results))


if __name__ == "__main__":
    main()
