"""Rules that learn from labels: the learned head's learning curve over the whole dev suite.

`python -m bench.learn [--model qwen2.5-coder-0.5b] [--scored 80] [--pool 160]` runs in two
steps. First, for every task, the model judges a seeded sample of scored rows and a pool
of other rows once, keeping each row's answer and its hidden states at three depths
(the middle layer, three quarters, and the final normalised state) from the same decode;
they are kept under .bench-cache/learn/. Then, with no model call, for 8, 16, 32 and 64
labels drawn from the pool (never from the scored rows) at random (5 draws) and by
"label next" (4 random marks, then the rows the app would ask for), it scores on the
scored rows: the model's answer alone recalibrated on the labels (a threshold fitted on
them), and the learned head where cross-validation on the labels keeps it. Balanced
accuracy per task (macro recall for label tasks); bench/learn.json and the tables on
docs/learning.md.

`--teaching` adds today's teaching from the same labels (the model judges again, through
the result cache). `--taught` measures a head that starts from teaching instead: each
task's rows judged once more with the examples teaching shows from label next's first
32 labels (kept under .bench-cache/learn/), the head fitted on the other labels over
those states, and today's teaching from the same judged rows where its examples match.
`--orders` measures label next's order for a rule that does not learn (the app's
default): over the rows judged as taught, its threshold fitted on labels asked for where
it is unsure, or drawn at random (what the app asks such a rule).
"""

from __future__ import annotations

import argparse
import json
import logging

from bench.learn_costs import redecide_cost, tap_cost
from bench.learn_curve import evaluate, zero_shot
from bench.learn_states import BUDGETS, DEPTHS, ROOT, states_for, taught_states_for
from bench.learn_tables import OUT, _flag_mean, table, write, write_tables
from bench.learn_teaching import learned_as_taught, taught_from_judged, teaching, teaching_orders
from bench.tasks import load_tasks
from fastsheet.kinds.rules import Kind
from fastsheet.learning.learned import LEARN_FROM

log = logging.getLogger("bench.learn")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="qwen2.5-coder-0.5b")
    parser.add_argument("--scored", type=int, default=80)
    parser.add_argument("--pool", type=int, default=160)
    parser.add_argument("--tasks", default="")
    parser.add_argument("--dims", default="8,16,32")
    parser.add_argument("--states-only", action="store_true")
    parser.add_argument("--tap-cost", action="store_true", help="only the tap's cost in rows/s")
    parser.add_argument(
        "--table", action="store_true", help="only the tables on docs/learning.md, again"
    )
    parser.add_argument(
        "--config", default="", help='the curve for this one, e.g. "three quarters/32"'
    )
    parser.add_argument(
        "--no-search", action="store_true", help="with --config: only that configuration"
    )
    parser.add_argument(
        "--redecide", action="store_true", help="only a learned column's re-decision cost"
    )
    parser.add_argument(
        "--teaching",
        action="store_true",
        help="add today's teaching from the same labels to the last run's figures",
    )
    parser.add_argument(
        "--taught",
        action="store_true",
        help="add a head over the rows judged as taught (measured, not the app's)",
    )
    parser.add_argument(
        "--orders",
        action="store_true",
        help="label next against random labels for a taught rule (the rows judged as taught)",
    )
    parser.add_argument("--budgets", default="", help="with --teaching: only these (e.g. 16)")
    parser.add_argument("--selects", default="random,next", help="with --teaching: random,next")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.table:
        write_tables(json.loads(OUT.read_text()))
        return
    if args.redecide:
        print(json.dumps(redecide_cost()))
        return
    if args.tap_cost:
        print(json.dumps(tap_cost(args.model)))
        return
    cache_dir = ROOT / ".bench-cache" / "learn"
    tasks = load_tasks([t for t in args.tasks.split(",") if t] or None)
    data = {t.name: states_for(args.model, t, args.scored, args.pool, cache_dir) for t in tasks}
    if args.states_only:
        return
    if args.orders:
        run = json.loads(OUT.read_text())[args.model]
        for task in (t for t in tasks if t.rule.kind is Kind.FLAG):
            picked = run["tasks"][task.name]["configs"][run["best"]]["next"][str(LEARN_FROM)]
            judged = taught_states_for(
                args.model, task, data[task.name], picked["picked"], cache_dir
            )
            run["tasks"][task.name]["orders"] = teaching_orders(data[task.name], judged)
        save_run(args.model, run)
        return
    if args.taught:
        run = json.loads(OUT.read_text())[args.model]
        k = run["best"].split("/")[1]
        for task in tasks:
            nxt = run["tasks"][task.name]["configs"][run["best"]]["next"]
            picks = {b: nxt[str(b)]["picked"] for b in BUDGETS if b >= LEARN_FROM}
            judged = taught_states_for(
                args.model, task, data[task.name], picks[LEARN_FROM], cache_dir
            )
            flag = task.rule.kind is Kind.FLAG
            entry = run["tasks"][task.name]
            entry["as_taught"] = learned_as_taught(data[task.name], judged, flag, int(k), picks)
            budgets = {b: nxt[str(b)]["picked"] for b in BUDGETS if b >= 16}
            taught = taught_from_judged(task, data[task.name], judged, budgets)
            rest = {b: v for b, v in budgets.items() if str(b) not in taught}
            if rest:  # other examples, or a cross-fit: the model judges them
                taught |= teaching(args.model, task, data[task.name], {"next": rest})["next"]
            entry.setdefault("teaching", {}).setdefault("next", {}).update(taught)
        save_run(args.model, run)
        return
    if args.teaching:
        run = json.loads(OUT.read_text())[args.model]
        for task in tasks:
            configs = run["tasks"][task.name]["configs"][run["best"]]
            budgets = [int(b) for b in args.budgets.split(",")] if args.budgets else BUDGETS
            picks = {
                select: {b: configs[select][str(b)]["picked"] for b in budgets}
                for select in args.selects.split(",")
            }
            taught = run["tasks"][task.name].setdefault("teaching", {})
            for select, by_budget in teaching(args.model, task, data[task.name], picks).items():
                taught.setdefault(select, {}).update(by_budget)  # other budgets kept
        save_run(args.model, run)
        return
    dims = [int(x) for x in args.dims.split(",")]
    configs = [f"{depth}/{k}" for depth in DEPTHS for k in dims]
    if args.no_search and args.config:
        configs = [args.config]
    results: dict = {}
    for task in tasks:
        flag = task.rule.kind is Kind.FLAG
        d = data[task.name]
        entry: dict = {"zero_shot": zero_shot(d, flag), "flag": flag, "configs": {}}
        for config in configs:
            depth, k = config.split("/")
            entry["configs"][config] = evaluate(d, flag, depth, int(k), next_too=False)
        results[task.name] = entry
        log.info("%s: zero-shot %.2f", task.name, entry["zero_shot"])
    best = max(configs, key=lambda c: _flag_mean(results, c, "random", 64, "head"))
    log.info("best on the suite (flag mean at 64 random labels): %s", best)
    for config in configs:
        log.info(
            "%s: flag mean at 64 random labels %.3f",
            config,
            _flag_mean(results, config, "random", 64, "head"),
        )
    if args.config:  # the app's: the curve of the layer it keeps
        best = args.config
    for task in tasks:  # "label next" for the chosen configuration
        depth, k = best.split("/")
        flag = task.rule.kind is Kind.FLAG
        results[task.name]["configs"][best] = evaluate(data[task.name], flag, depth, int(k), True)
    previous = json.loads(OUT.read_text()) if OUT.exists() else {}
    previous[args.model] = {
        "scored": args.scored,
        "pool": args.pool,
        "best": best,
        "tasks": merged(previous.get(args.model), results, args.scored, args.pool),
    }
    write(previous)
    write_tables(previous)
    print(table(previous[args.model], args.model))


def merged(previous: dict | None, results: dict, scored: int, pool: int) -> dict:
    """This run's tasks over the last run's others (same sample sizes), in the suite's
    order; a task run again keeps its teaching, as-taught and orders figures only for the
    labels it picks again (random ones are seeded; label next's follow the head)."""
    old: dict = {}
    if previous is not None and (previous["scored"], previous["pool"]) == (scored, pool):
        old = previous["tasks"]
    for name, entry in results.items():
        before = old.get(name, {})
        for select, by_budget in before.get("teaching", {}).items():
            kept = {b: v for b, v in by_budget.items() if _same_picks(before, entry, select, b)}
            if kept:
                entry.setdefault("teaching", {})[select] = kept
        taught = before.get("as_taught", {})
        kept = {b: v for b, v in taught.items() if _same_picks(before, entry, "next", b)}
        examples_same = _same_picks(before, entry, "next", str(LEARN_FROM))  # their labels
        if kept and examples_same:
            entry["as_taught"] = kept
        if "orders" in before and examples_same:  # judged with the same examples
            entry["orders"] = before["orders"]
    both = old | results
    return {t.name: both[t.name] for t in load_tasks(None) if t.name in both}


def _same_picks(before: dict, after: dict, select: str, budget: str) -> bool:
    """Whether two runs of a task picked the same labels for this budget."""

    def picked(entry: dict) -> list | None:
        for config in entry.get("configs", {}).values():
            if budget in config.get(select, {}):
                return config[select][budget].get("picked")
        return None

    return picked(before) is not None and picked(before) == picked(after)


def save_run(model: str, run: dict) -> None:
    """One tier's figures into bench/learn.json (the others as they are), and its tables on docs/learning.md."""
    saved = json.loads(OUT.read_text())
    saved[model] = run
    write(saved)
    write_tables(saved)
    print(table(run, model))


if __name__ == "__main__":
    main()
