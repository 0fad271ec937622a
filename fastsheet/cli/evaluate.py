"""`fastsheet eval`: a rule over a data file, written out with its results and summary.

With `--compile`, a flag rule compiles first (plans/compiler.py, with a local model): the
plan's formula decides every row at once and only its rest is asked row by row. Any other
rule, or a plan the guard does not accept, is judged row by row.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fastsheet.backends.server import (
    SYSTEM_ONE,
    ServerSettings,
)
from fastsheet.data.errors import DataError
from fastsheet.data.paths import default_cache_path
from fastsheet.data.table import load_table, save_table
from fastsheet.files.workbook import RuleReport, write_workbook
from fastsheet.formula.parser import parse_formula
from fastsheet.kinds import kind_of
from fastsheet.kinds.formula import compute_formula
from fastsheet.kinds.results import ResultColumn, with_results
from fastsheet.kinds.rules import Rule
from fastsheet.learning.learned import Learned, fit_input, learn, learns
from fastsheet.plans.compiler import Plan, compile_rule
from fastsheet.sheet.cache import NoCache, ResultCache
from fastsheet.sheet.compiled import evaluate_plan, formula_decided
from fastsheet.sheet.reasons import SUFFIX, Reason, ReasonWriter, verdict_text
from fastsheet.sheet.runner import (
    Progress,
    RuleRunner,
    default_calibration,
    evaluate,
    taught_runner,
)
from fastsheet.sheet.summary import agreement, disagreements, gold_values, summarize
from fastsheet.stats.calibrate import Calibration, Mode

if TYPE_CHECKING:
    import polars as pl

    from fastsheet.backends.base import Backend

log = logging.getLogger("fastsheet")


def rule_from_args(args: argparse.Namespace) -> Rule:
    options = {"labels": args.labels or "", "scale": args.scale, "where": args.where}
    rule = kind_of(args.kind).make(args.rule, args.name, options, None)
    return replace(rule, learn=args.learn)


def cmd_eval(args: argparse.Namespace) -> int:
    from fastsheet.backends.llama_backend import LlamaBackend
    from fastsheet.backends.models import resolve_model
    from fastsheet.backends.server_backend import connect
    from fastsheet.backends.systemone_backend import SystemOneBackend

    rule = rule_from_args(args)
    frame = load_table(args.data)
    if not kind_of(rule).judged:
        return cmd_formula(args, rule, frame)
    if args.gold and args.gold not in frame.columns:
        raise DataError(
            f"Unknown gold column {args.gold!r}. Columns are: {', '.join(frame.columns)}."
        )
    if rule.learn and not (args.gold and kind_of(rule).labelable):
        raise DataError(
            "--learn learns a flag, label or score rule's known answers: "
            "name their column with --gold."
        )
    rule.check_columns(frame.columns)
    condition = parse_formula(rule.where, frame.schema).require_condition() if rule.where else None
    out = output_path(args, rule)
    if args.threads is not None and args.threads < 1:
        raise DataError("--threads must be at least 1.")
    if sum(bool(x) for x in (args.server, args.systemone, args.model)) > 1:
        raise DataError("Give one of --model (a local file), --server or --systemone.")
    if args.concurrency < 1:
        raise DataError("--concurrency must be at least 1.")
    remote = args.server or args.systemone
    model_path = None if remote else resolve_model(args.model)
    cache = (
        NoCache()
        if args.no_cache
        else ResultCache(Path(args.cache) if args.cache else default_cache_path())
    )
    if cache.warning:
        print(f"fastsheet: warning: {cache.warning}", file=sys.stderr)
    if remote:
        settings = (
            ServerSettings(args.server, args.server_model, args.concurrency)
            if args.server
            else ServerSettings(
                args.systemone, args.systemone_model, args.concurrency, protocol=SYSTEM_ONE
            )
        )
        backend: Backend = connect(settings)
        if isinstance(backend, SystemOneBackend):
            backend.check()  # a wrong address, key or model: one message, before any row
        print(
            f"fastsheet: judging on the server at {settings.host} ({backend.name})", file=sys.stderr
        )
    else:
        backend = LlamaBackend(model_path, n_threads=args.threads, keep_states=True)
    try:
        exclude = [c for c in (args.gold, rule.name, f"{rule.name}_p", f"{rule.name}_source") if c]
        gold = gold_values(frame[args.gold], rule) if args.gold else None
        explained: list[Reason] = []
        plan = compiled_plan(args, rule, frame, backend, exclude)
        if plan is not None:
            bar = ProgressBar()
            result, calibration, rest = evaluate_plan(
                frame, rule, plan, backend, cache, exclude, bar.update
            )
            bar.finish()
            answered = with_results(frame, result, calibration, source=True)
            if args.explain:
                why, explained = explain(rest, result, calibration, gold, plan)
                answered = answered.with_columns(why)
            write_results(answered, out, rule, result, calibration, gold)
            return report(args, rule, result, calibration, gold, out, explained=explained)
        runner = RuleRunner(frame, rule, backend, cache, exclude=exclude)
        learning = learns(rule, backend.keep_states, gold)
        runner, lesson = (runner, None) if learning else taught_runner(runner, gold)
        bar = ProgressBar()
        skip = ~condition.condition(frame).to_numpy() if condition is not None else None
        result = evaluate(runner, on_progress=bar.update, skip=skip)
        bar.finish()
        learned = None
        if learning and result.states is not None:
            fit = fit_input(result.model_probs, result.states, result.has_state, gold)  # type: ignore[arg-type]
            learned = learn(*fit, kind_of(rule).shape)
        if learned is not None:
            result.use(learned)
            calibration = Calibration(Mode.LEARNED)
        else:
            calibration = default_calibration(runner, result, lesson, gold)
        answered = with_results(frame, result, calibration, source=True)
        if args.explain:
            why, explained = explain(runner, result, calibration, gold)
            answered = answered.with_columns(why)
        write_results(answered, out, rule, result, calibration, gold)
    finally:
        backend.close()
        cache.close()
    return report(args, rule, result, calibration, gold, out, lesson, learned, explained)


def report(
    args: argparse.Namespace,
    rule: Rule,
    result: ResultColumn,
    calibration: Calibration,
    gold: np.ndarray | None,
    out: Path,
    lesson: object = None,
    learned: Learned | None = None,
    explained: list[Reason] | None = None,
) -> int:
    """The summary lines `fastsheet eval` prints after writing `out`."""
    explained = explained or []
    print(summarize(result, calibration).text())
    if lesson is not None:
        print(
            f"taught from {lesson.n_labels} labels ({len(lesson.rule.examples)} shown as examples)"  # type: ignore[attr-defined]
        )
    if learned is not None:
        agreed, total, share = learned.agreement()
        how = "learned"
        if not learned.learned:
            how = "threshold (the answer alone, recalibrated)"
            how = how if kind_of(rule).thresholded else "recalibrated (the answer alone)"
        print(
            f"taught from {total} labels · {how}; agrees with them, each held out: "
            f"{agreed} / {total}, est. {share:.0%}"
        )
    if kind_of(rule).thresholded:
        print(
            f"decision threshold p(yes) >= {calibration.threshold:.3f} ({calibration.mode.value})"
        )
    if args.explain:
        against = sum(r.disagrees for r in explained)
        print(
            f"wrote {len(explained)} reason{'s' if len(explained) != 1 else ''} in {rule.name}"
            f"{SUFFIX}" + (f" ({against} disagree with their verdict)" if against else "")
        )
    if gold is not None and kind_of(rule).labelable:
        learnt = " (the labels it learned from)" if learned is not None else ""
        print("gold: " + agreement(result, calibration, gold).text() + learnt)
    print(f"wrote {out}")
    return 0


def explain(
    runner: RuleRunner | None,
    result: ResultColumn,
    calibration: Calibration,
    gold: np.ndarray | None,
    plan: Plan | None = None,
) -> tuple[pl.Series, list[Reason]]:
    """NAME_why: a reason for each row that disagrees with `gold` (with --gold), else for
    each flagged row (a flag), else for every judged row; empty elsewhere. A row a plan's
    formula decided has the plan as its reason; the model writes the others'."""
    import polars as pl

    rule = result.rule
    values, _ = result.decide(calibration)
    if gold is not None and kind_of(rule).labelable:
        rows = np.asarray(disagreements(result, calibration, gold), dtype=np.int64)
    elif kind_of(rule).thresholded:
        rows = np.flatnonzero(values == 1.0)
    else:
        rows = np.flatnonzero(result.done_mask())
    texts: list[str | None] = [None] * len(result)
    if plan is not None:
        by_formula = formula_decided(result)
        for row in rows[by_formula[rows]]:
            holds = "holds" if values[row] == 1.0 else "does not hold"
            texts[int(row)] = f"the plan's formula {holds}: {plan.exact}"
        rows = rows[~by_formula[rows]]
    if runner is None or not len(rows):
        return pl.Series(rule.name + SUFFIX, texts, dtype=pl.String), []
    writer = ReasonWriter(runner.rule, runner)
    decided = result.decide_rows(rows.tolist(), calibration)[0] if len(rows) else []
    writer.verdicts = {
        int(r): verdict_text(runner.rule, v) for r, v in zip(rows, decided, strict=True)
    }
    reasons = writer.reasons(rows.tolist()) if len(rows) else []
    for row, reason in zip(rows, reasons, strict=True):
        texts[int(row)] = ("⚠ reason disagrees: " if reason.disagrees else "") + reason.text
    return pl.Series(rule.name + SUFFIX, texts, dtype=pl.String), reasons


def compiled_plan(
    args: argparse.Namespace, rule: Rule, frame: pl.DataFrame, backend: Backend, exclude: list[str]
) -> Plan | None:
    """With --compile, the plan a flag rule compiles to (printed), or None to judge every
    row: a condition, a rule that learns, a backend that writes no plans, or a plan the
    guard does not accept."""
    if not args.compile or rule.where or rule.learn or not kind_of(rule).splittable:
        return None
    if not backend.can_write:
        print("fastsheet: not compiled (the server writes no plans): every row is judged")
        return None
    compiled = compile_rule(backend, rule.text, frame, skip=tuple(exclude))
    if compiled.plan is None:
        why = "; ".join(compiled.problems) or "nothing in the rule is exact"
        print(f"fastsheet: not compiled ({why}): every row is judged")
        if compiled.written.exact:
            print(
                f"  the model's plan, not used: {compiled.written.text().replace(chr(10), ' · ')}"
            )
        return None
    plan = compiled.plan
    print(f"fastsheet: compiled in {plan.seconds:.1f} s: {plan.text().replace(chr(10), ' · ')}")
    return plan


def write_results(
    answered: pl.DataFrame,
    out: Path,
    rule: Rule,
    result: ResultColumn,
    calibration: Calibration,
    gold: np.ndarray | None,
) -> None:
    if out.suffix.lower() == ".xlsx":
        agreed = agreement(result, calibration, gold) if gold is not None else None
        write_workbook(answered, out, [RuleReport.of(rule, summarize(result, calibration), agreed)])
    else:
        save_table(answered, out)


def cmd_formula(args: argparse.Namespace, rule: Rule, frame: pl.DataFrame) -> int:
    """A formula column over the data: exact, every row at once, no model."""
    if rule.name in frame.columns:
        raise DataError(f"A data column is already called {rule.name!r}: pick another --name.")
    out = output_path(args, rule)
    result = compute_formula(rule, frame)
    answered = with_results(frame, result, Calibration())
    summary = summarize(result, Calibration())
    if out.suffix.lower() == ".xlsx":
        write_workbook(answered, out, [RuleReport.of(rule, summary, None)])
    else:
        save_table(answered, out)
    print(summary.text())
    print(f"wrote {out}")
    return 0


def output_path(args: argparse.Namespace, rule: Rule) -> Path:
    out = Path(args.out) if args.out else Path(f"{Path(args.data).stem}.{rule.name}.csv")
    if out.suffix.lower() not in (".csv", ".parquet", ".xlsx"):
        raise DataError(f"--out must end in .csv, .parquet or .xlsx, not {out.name}.")
    return out


class ProgressBar:
    """A one-line progress bar with rows/s on stderr (a line every few seconds if not a tty)."""

    def __init__(self) -> None:
        self._tty = sys.stderr.isatty()
        self._last = 0.0

    def update(self, p: Progress) -> None:
        now = time.monotonic()
        if now - self._last < (0.2 if self._tty else 5.0) and p.done < p.total:
            return
        self._last = now
        width = 30
        filled = int(width * p.done / p.total) if p.total else width
        rate = p.rows_per_s
        left = (p.total - p.done) / rate if rate > 0 else 0
        line = (
            f"[{'#' * filled}{'.' * (width - filled)}] {p.done:,}/{p.total:,} rows · "
            f"{rate:.1f} rows/s · {int(left) // 60}m{int(left) % 60:02d}s left"
        )
        print(("\r" + line) if self._tty else line, end="" if self._tty else "\n", file=sys.stderr)

    def finish(self) -> None:
        if self._tty:
            print(file=sys.stderr)
