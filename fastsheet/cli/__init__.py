"""Command line: `fastsheet eval`, `fastsheet models`, and `fastsheet` (the app).

`evaluate.py` runs a rule over a data file (`fastsheet eval`), `models.py` lists and
fetches models; this module reads the arguments and hands each command to its module.
The command line sits on top beside the session: it may import every other package of
fastsheet, never `ui` (the app is reached through the `fastsheet.frontends` entry point).
"""

from __future__ import annotations

import argparse
import logging
import sys

from fastsheet.backends.server import API_KEY_ENV, DEFAULT_CONCURRENCY, SYSTEM_ONE_MODEL
from fastsheet.cli.evaluate import cmd_eval
from fastsheet.cli.models import cmd_models
from fastsheet.data.errors import FastsheetError
from fastsheet.kinds import KINDS
from fastsheet.learning.learned import LEARN_FROM

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
        "--compile",
        action="store_true",
        help="a flag rule's exact part becomes a formula (the local model writes it once); "
        "only the rest is asked row by row",
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


def frontend(name: str):
    """The desktop front end's entry point `name` (registered by the `ui` package).

    Looked up through package metadata, so the core never imports Qt."""
    from importlib.metadata import entry_points

    for ep in entry_points(group="fastsheet.frontends"):
        if ep.name == name:
            return ep.load()
    raise FastsheetError("The desktop app is not installed: reinstall fastsheet with `make run`.")
