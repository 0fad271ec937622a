"""bench/learn.json and its tables on docs/learning.md."""

from __future__ import annotations

import json
import re

import numpy as np

from bench.learn_states import (
    BUDGETS,
    HERE,
    RANDOM_DRAWS,
)
from bench.report import write_block
from fastsheet.learning.learned import LEARN_FROM

OUT = HERE / "learn.json"


START, END = "<!-- learn:start -->", "<!-- learn:end -->"


def write_tables(results: dict) -> None:
    """Every tier's table (bench/learn.json) between the learn markers (docs/learning.md)."""
    write_block("\n\n".join(table(run, model) for model, run in results.items()), START, END)


def write(results: dict) -> None:
    """bench/learn.json, with each list of picked rows on one line."""
    text = json.dumps(results, indent=1)
    OUT.write_text(re.sub(r"\[\s*([-\d.,\s]*?)\s*\]", _one_line, text) + "\n")


def _one_line(match: re.Match) -> str:
    return "[" + ", ".join(x.strip() for x in match.group(1).split(",") if x.strip()) + "]"


def _flag_mean(results: dict, config: str, select: str, budget: int, mode: str) -> float:
    values = [
        r["configs"][config][select][str(budget)][mode]
        for r in results.values()
        if r["flag"] and select in r["configs"][config]
    ]
    return float(np.mean(values)) if values else float("nan")


def table(run: dict, model: str) -> str:
    """Per task: zero-shot; at each budget, today's teaching, the labels-only threshold and
    the head from random labels, and teaching and the head from "label next"'s labels."""
    best, results = run["best"], run["tasks"]
    head = ["| task | zero-shot |"]
    for b in BUDGETS:
        head.append(f" {b}, random: taught / threshold / head | {b}, label next: taught / head |")
    lines = [
        f"{model}, {len(results)} of 12 tasks, {run['scored']} scored rows per task, labels "
        f"from {run['pool']} others; "
        f"states: {best} (layer / dimensions); taught = today's teaching (examples in the "
        "prompt and a fitted threshold) from the same labels (the first random draw)",
        "",
        "".join(head),
        "|---|---|" + "---|---|" * len(BUDGETS),
    ]

    def taught(r: dict, select: str, b: int) -> str:
        value = r.get("teaching", {}).get(select, {}).get(str(b))
        return f"{value:.2f}" if value is not None else "–"

    for name, r in results.items():
        c = r["configs"][best]
        cells = [f"{r['zero_shot']:.2f}"]
        for b in BUDGETS:
            rb, nb = c["random"][str(b)], c.get("next", {}).get(str(b))
            cells.append(f"{taught(r, 'random', b)} / {rb['threshold']:.2f} / {rb['head']:.2f}")
            cells.append(f"{taught(r, 'next', b)} / {nb['head']:.2f}" if nb else "–")
        kind = "" if r["flag"] else " (label)"
        lines.append(f"| {name}{kind} | " + " | ".join(cells) + " |")
    flags = [r for r in results.values() if r["flag"]]
    means = [f"{np.mean([r['zero_shot'] for r in flags]):.2f}"]
    for b in BUDGETS:
        means.append(
            f"{_taught_mean(flags, 'random', b)} / "
            f"{_flag_mean(results, best, 'random', b, 'threshold'):.2f} / "
            f"{_flag_mean(results, best, 'random', b, 'head'):.2f}"
        )
        means.append(
            f"{_taught_mean(flags, 'next', b)} / {_flag_mean(results, best, 'next', b, 'head'):.2f}"
        )
    lines.append("| **flag mean** | " + " | ".join(means) + " |")
    app = ["–"]
    for b in BUDGETS:
        app.append(_app_mean(flags, best, "random", b))
        app.append(_app_mean(flags, best, "next", b))
    lines.append(
        f"| **flag mean, Learn from labels on** (taught below {LEARN_FROM} labels, learned "
        f"from {LEARN_FROM}; off, the app's default, is the taught figure) | "
        + " | ".join(app)
        + " |"
    )
    return "\n".join(lines + as_taught_table(results, best) + orders_table(results))


def as_taught_table(results: dict, best: str) -> list[str]:
    """Per task, from "label next"'s labels: today's teaching, the head under the plain
    prompt (the app's from LEARN_FROM), and the head over the rows judged as taught."""
    measured = {name: r for name, r in results.items() if "as_taught" in r}
    if not measured:
        return []
    budgets = [b for b in BUDGETS if b >= LEARN_FROM]
    lines = [
        "",
        f"Learned as taught (measured, not the app's): from {LEARN_FROM} labels the rule "
        f"judged with the examples today's teaching shows from its first {LEARN_FROM}, the "
        "head fitted on the other labels over those rows' states; label next's labels; "
        "taught = today's teaching from the same judged rows where its examples are the "
        "same (else judged again)",
        "",
        "| task |" + "".join(f" {b}: taught / plain head / as taught |" for b in budgets),
        "|---|" + "---|" * len(budgets),
    ]
    for name, r in measured.items():
        cells = []
        for b in budgets:
            taught = r.get("teaching", {}).get("next", {}).get(str(b))
            plain = r["configs"][best]["next"][str(b)]["head"]
            cells.append(f"{_two(taught)} / {plain:.2f} / {r['as_taught'][str(b)]['head']:.2f}")
        kind = "" if r["flag"] else " (label)"
        lines.append(f"| {name}{kind} | " + " | ".join(cells) + " |")
    for flag, what in ((True, "flag"), (False, "label")):
        rows = [r for r in measured.values() if r["flag"] is flag]
        if not rows:
            continue
        cells = []
        for b in budgets:
            taught = [r.get("teaching", {}).get("next", {}).get(str(b)) for r in rows]
            plain = [r["configs"][best]["next"][str(b)]["head"] for r in rows]
            ours = [r["as_taught"][str(b)]["head"] for r in rows]
            mean_taught = np.mean(taught) if None not in taught else None
            cells.append(f"{_two(mean_taught)} / {np.mean(plain):.2f} / {np.mean(ours):.2f}")
        lines.append(f"| **{what} mean** ({len(rows)} tasks) | " + " | ".join(cells) + " |")
    return lines


def orders_table(results: dict) -> list[str]:
    """Per flag task judged as taught: a taught rule's balanced accuracy from random labels
    and from label next's (teaching_orders), the mean and the worst task."""
    measured = {name: r["orders"] for name, r in results.items() if "orders" in r}
    if not measured:
        return []
    budgets = list(next(iter(measured.values()))["random"])
    lines = [
        "",
        "Label next's order for a taught rule (no head): the rule as judged with its "
        "examples, its threshold fitted on the labels they do not show, the labels drawn "
        "at random (as the app asks a taught rule) or where that threshold "
        f"is unsure, spread over the states ({RANDOM_DRAWS} draws each)",
        "",
        "| task |" + "".join(f" {b}: random / label next |" for b in budgets),
        "|---|" + "---|" * len(budgets),
    ]
    for name, r in measured.items():
        cells = [f"{r['random'][b]:.2f} / {r['next'][b]:.2f}" for b in budgets]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    for what, f in (("mean", np.mean), ("worst task", np.min)):
        cells = [
            " / ".join(f"{f([r[s][b] for r in measured.values()]):.2f}" for s in ("random", "next"))
            for b in budgets
        ]
        lines.append(f"| **{what}** ({len(measured)} tasks) | " + " | ".join(cells) + " |")
    return lines


def _two(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else "–"


def _app_mean(flags: list[dict], best: str, select: str, budget: int) -> str:
    """What a rule that learns its labels decides with: today's teaching below LEARN_FROM
    labels, the learned head (or, where cross-validation says so, the answer alone) from
    LEARN_FROM."""
    if budget < LEARN_FROM:
        return _taught_mean(flags, select, budget)
    values = [r["configs"][best].get(select, {}).get(str(budget), {}).get("head") for r in flags]
    return f"{np.mean(values):.2f}" if values and None not in values else "–"


def _taught_mean(flags: list[dict], select: str, budget: int) -> str:
    values = [r.get("teaching", {}).get(select, {}).get(str(budget)) for r in flags]
    return f"{np.mean(values):.2f}" if values and None not in values else "–"
