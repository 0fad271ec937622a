"""`fastsheet models`: every GGUF found on this machine, and `models pull NAME`."""

from __future__ import annotations

import argparse


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
