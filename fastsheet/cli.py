"""Command line: `fastsheet eval`, `fastsheet models`, and `fastsheet` (the app)."""

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
    API_KEY_ENV,
    DEFAULT_CONCURRENCY,
    SYSTEM_ONE,
    SYSTEM_ONE_MODEL,
    ServerSettings,
)
from fastsheet.data.errors import DataError, FastsheetError
from fastsheet.data.paths import default_cache_path
from fastsheet.data.table import load_table, save_table
from fastsheet.files.workbook import RuleReport, write_workbook
from fastsheet.formula.parser import parse_formula
from fastsheet.kinds import KINDS, kind_of
from fastsheet.kinds.formula import compute_formula
from fastsheet.kinds.results import ResultColumn, with_results
from fastsheet.kinds.rules import Rule
from fastsheet.learning.learned import LEARN_FROM, fit_input, learn, learns
from fastsheet.sheet.cache import NoCache, ResultCache
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fastsheet",
        description="Judge every row of a dataset against a plain-English rule, locally.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = parser.add_subparsers(dest="command")

    ev = sub.add_parser("eval", help="judge every row of DATA against a rule")
    ev.add_argument("data", metavar="DATA", help="CSV, TSV, Parquet, JSON, NDJSON, Arrow or .xlsx")
    ev.add_argument(
        "--rule",
        required=True,
        metavar="TEXT",
        help="the rule, in plain English (with --kind formula: the formula)",
    )
    ev.add_argument("--name", default="rule", help="result column name (default: rule)")
    ev.add_argument("--kind", choices=list(KINDS), default="flag")
    ev.add_argument(
        "--labels",
        metavar="A,B,C",
        help='the labels, for --kind label; with what each means: "billing=invoices, '
        'refunds; technical=bugs, outages; other"',
    )
    ev.add_argument("--scale", metavar="LO-HI", default="1-5", help="for --kind score")
    ev.add_argument(
        "--where",
        metavar="FORMULA",
        default="",
        help="judge only the rows where this formula is true; the rest are skipped",
    )
    ev.add_argument("--model", metavar="PATH", help="a .gguf file or catalogued model name")
    ev.add_argument("--gold", metavar="COLUMN", help="column of gold labels to calibrate and score")
    ev.add_argument(
        "--learn",
        action="store_true",
        help=f"learn --gold's labels (from {LEARN_FROM}) with a head over the model's reading of "
        "each row, where cross-validation on them says it beats the model's answer; "
        "default: taught by them (examples and a fitted threshold)",
    )
    ev.add_argument(
        "--explain",
        action="store_true",
        help="a one-line reason (NAME_why) for each flagged row, or each disagreeing with --gold",
    )
    ev.add_argument("--out", metavar="FILE", help="output .csv, .parquet or .xlsx")
    ev.add_argument("--threads", type=int, metavar="N", help="CPU threads (default: all cores)")
    srv = ev.add_argument_group(
        "inference server (opt-in; without --server nothing leaves this machine)"
    )
    srv.add_argument(
        "--server",
        metavar="URL",
        help="judge on your own OpenAI-compatible server (llama-server, vLLM, Ollama), "
        f"e.g. http://127.0.0.1:8080; an API key is read from ${API_KEY_ENV}",
    )
    srv.add_argument(
        "--server-model", metavar="NAME", help="the server's model id (default: its first)"
    )
    srv.add_argument(
        "--systemone",
        metavar="URL",
        help="judge on a System One (Jev-compatible) server, e.g. laya-serve at "
        "http://gpu-box:8000: each row goes once, as a JSON record, with the rule's typed "
        f"question; an API key is read from ${API_KEY_ENV}",
    )
    srv.add_argument(
        "--systemone-model",
        metavar="NAME",
        help=f"the System One model (default: {SYSTEM_ONE_MODEL})",
    )
    srv.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"requests in flight at once (default: {DEFAULT_CONCURRENCY})",
    )
    group = ev.add_mutually_exclusive_group()
    group.add_argument("--cache", metavar="PATH", help="result cache file")
    group.add_argument("--no-cache", action="store_true", help="do not read or write the cache")

    mo = sub.add_parser("models", help="list models, or pull a catalogued one")
    mo_sub = mo.add_subparsers(dest="models_command")
    pull = mo_sub.add_parser("pull", help="fetch, verify and prepare a catalogued model")
    pull.add_argument("name")

    be = sub.add_parser("bench", help="run the benchmark (python -m bench)")
    be.add_argument("--quick", action="store_true", help="a smaller run")

    op = sub.add_parser("open", help="open a data file or .fastsheet project in the app")
    op.add_argument("file", nargs="?", help="omit to start on the welcome view")
    op.add_argument("--model", metavar="PATH", help="a .gguf file or catalogued model name")

    sh = sub.add_parser("shot", help="screenshot the app on DATA with a rule (offscreen)")
    sh.add_argument("data", metavar="DATA")
    sh.add_argument("--rule", metavar="TEXT")
    sh.add_argument("--kind", choices=list(KINDS), default="flag")
    sh.add_argument("--labels", metavar="A,B,C")
    sh.add_argument("--scale", metavar="LO-HI", default="1-5")
    sh.add_argument("--model", metavar="PATH")
    sh.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the column")
    sh.add_argument("--out", required=True, metavar="PNG")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.command == "eval":
            return cmd_eval(args)
        if args.command == "models":
            return cmd_models(args)
        if args.command == "bench":
            import subprocess

            return subprocess.call(
                [sys.executable, "-m", "bench", *(["--quick"] if args.quick else [])]
            )
        if args.command == "shot":
            return frontend("shot")(
                args.data,
                args.rule,
                args.out,
                args.kind,
                args.labels,
                args.scale,
                args.timeout,
                args.model,
            )
        if args.command == "open" or args.command is None:
            return frontend("main")(getattr(args, "file", None), getattr(args, "model", None))
    except FastsheetError as exc:
        print(f"fastsheet: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fastsheet: interrupted", file=sys.stderr)
        return 130
    return 0


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
        runner = RuleRunner(frame, rule, backend, cache, exclude=exclude)
        gold = gold_values(frame[args.gold], rule) if args.gold else None
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
        explained: list[Reason] = []
        if args.explain:
            why, explained = explain(runner, result, calibration, gold)
            answered = answered.with_columns(why)
        if out.suffix.lower() == ".xlsx":
            agreed = agreement(result, calibration, gold) if gold is not None else None
            report = RuleReport.of(rule, summarize(result, calibration), agreed)
            write_workbook(answered, out, [report])
        else:
            save_table(answered, out)
    finally:
        backend.close()
        cache.close()
    print(summarize(result, calibration).text())
    if lesson is not None:
        print(
            f"taught from {lesson.n_labels} labels ({len(lesson.rule.examples)} shown as examples)"
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
    runner: RuleRunner, result: ResultColumn, calibration: Calibration, gold: np.ndarray | None
) -> tuple[pl.Series, list[Reason]]:
    """NAME_why: a reason for each row that disagrees with `gold` (with --gold), else for
    each flagged row (a flag), else for every judged row; empty elsewhere."""
    import polars as pl

    rule = runner.rule
    values, _ = result.decide(calibration)
    if gold is not None and kind_of(rule).labelable:
        rows = np.asarray(disagreements(result, calibration, gold), dtype=np.int64)
    elif kind_of(rule).thresholded:
        rows = np.flatnonzero(values == 1.0)
    else:
        rows = np.flatnonzero(result.done_mask())
    texts: list[str | None] = [None] * len(result)
    writer = ReasonWriter(rule, runner)
    decided = result.decide_rows(rows.tolist(), calibration)[0] if len(rows) else []
    writer.verdicts = {int(r): verdict_text(rule, v) for r, v in zip(rows, decided, strict=True)}
    reasons = writer.reasons(rows.tolist()) if len(rows) else []
    for row, reason in zip(rows, reasons, strict=True):
        texts[int(row)] = ("⚠ reason disagrees: " if reason.disagrees else "") + reason.text
    return pl.Series(rule.name + SUFFIX, texts, dtype=pl.String), reasons


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


def cmd_models(args: argparse.Namespace) -> int:
    from fastsheet.backends.discovery import all_models
    from fastsheet.backends.models import CATALOGUE, DEFAULT_MODEL, describe, pull
    from fastsheet.data.paths import models_dir

    if args.models_command == "pull":
        path = pull(args.name)
        print(f"{args.name}: ready at {path}")
        return 0
    found = all_models()
    print("models found in place (never copied; `--model NAME` takes the first line of each):")
    if not any(f.source == "models/" for f in found):
        print(f"  (none in {models_dir()}) — run `fastsheet models pull {DEFAULT_MODEL}`")
    source = None
    for f in found:
        if f.source != source:
            source = f.source
            where = models_dir() if source == "models/" else ""
            print(f"  {source}{f' ({where})' if where else ''}")
        m = describe(f.path)
        verifies = {True: "verified", False: "FAILS sha256", None: "not catalogued"}[m.verified]
        if m.problem:
            verifies = m.problem
        name = m.info.name if m.info else "?"
        quant = m.info.quantization if m.info else "?"
        tag = (
            " (default)"
            if m.entry and m.entry.name == DEFAULT_MODEL and m.path.name == m.entry.filename
            else ""
        )
        label = f.path.name if f.source == "models/" else f.name
        print(f"    {label}{tag}\n      {name} · {m.size / 1e6:,.0f} MB · {quant} · {verifies}")
    print("catalogue (fastsheet models pull NAME):")
    for entry in CATALOGUE.values():
        print(f"  {entry.name}: {entry.description} [{entry.license}]")
    print("use one with --model NAME: a name listed above, a catalogue name, or a .gguf path")
    return 0


def frontend(name: str):
    """The desktop front end's entry point `name` (registered by the `ui` package).

    Looked up through package metadata, so the core never imports Qt."""
    from importlib.metadata import entry_points

    for ep in entry_points(group="fastsheet.frontends"):
        if ep.name == name:
            return ep.load()
    raise FastsheetError("The desktop app is not installed: reinstall fastsheet with `make run`.")


if __name__ == "__main__":
    sys.exit(main())
