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
accuracy per task (macro recall for label tasks); bench/learn.json and a README table.

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
import re
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl

from bench.accuracy import DATA, Task, _gold, load_tasks
from bench.accuracy import write_readme as write_block
from fastsheet.cache import NoCache, ResultCache
from fastsheet.calibrate import Calibration, from_gold, unlabeled_flag
from fastsheet.head import (
    Reducer,
    Shape,
    answer_features,
    balanced_accuracy,
    choose_head,
    fit_head,
)
from fastsheet.label_next import label_next
from fastsheet.learned import LEARN_FROM, fit_input, learn, own_bias, reducer_for
from fastsheet.llama_backend import LlamaBackend
from fastsheet.models import CATALOGUE, models_dir
from fastsheet.paths import default_cache_path
from fastsheet.rules import Kind
from fastsheet.runner import RuleRunner
from fastsheet.runner import evaluate as run_rule
from fastsheet.state_store import KEPT_DIMS
from fastsheet.table import record_columns, records
from fastsheet.teach import examples_for, teach

HERE = Path(__file__).parent
ROOT = HERE.parent
OUT = HERE / "learn.json"
START, END = "<!-- learn:start -->", "<!-- learn:end -->"
BUDGETS = (8, 16, 32, 64)
DEPTHS = {"middle": 0.5, "three quarters": 0.75, "final": -1}
RANDOM_DRAWS = 5
N_LAYERS = {"qwen2.5-coder-0.5b": 24, "qwen2.5-coder-1.5b": 28}
FIRST_MARKS = 4
log = logging.getLogger("bench.learn")


def model_path(name: str) -> Path:
    return models_dir() / CATALOGUE[name].filename


def _layers(n_layer: int) -> list[int]:
    return [round(d * (n_layer - 1)) if d > 0 else -1 for d in DEPTHS.values()]


def states_for(model: str, task: Task, scored: int, pool: int, cache_dir: Path) -> dict:
    """The task's scored and pool rows, judged once: answers, states, gold (kept on disk)."""
    path = cache_dir / model / f"{task.name}-{scored}-{pool}.npz"
    if path.exists():
        return dict(np.load(path, allow_pickle=False))
    frame = pl.read_csv(DATA / task.file)
    gold = _gold(task, frame["gold"])
    order = np.random.default_rng(0).permutation(frame.height)
    order = order[~np.isnan(gold[order])][: scored + pool]
    layers = _layers(N_LAYERS[model])
    backend = LlamaBackend(model_path(model), state_layers=layers)
    try:
        runner = RuleRunner(frame, task.rule, backend, NoCache(), exclude=["gold"])
        records = runner.records(order.tolist())
        start = time.perf_counter()
        answers = []
        for i in range(0, len(records), 16):
            answers += backend.judge(task.rule, records[i : i + 16])
        seconds = time.perf_counter() - start
    finally:
        backend.close()
    gold = gold[order]
    out = {
        "rows": order,
        "probs": np.asarray([a.probs for a in answers], dtype=np.float64),
        "states": np.stack([a.state for a in answers]).astype(np.float16),
        "gold": gold.astype(np.float64),
        "layers": np.asarray(layers),
        "seconds": np.asarray(seconds),
        "scored": np.asarray(scored),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **out)
    log.info("%s / %s: %d rows in %.0f s", model, task.name, len(order), seconds)
    return out


def teaching(model: str, task: Task, data: dict, picks: dict[str, dict[int, list[int]]]) -> dict:
    """Today's teaching (examples in the prompt, a threshold fitted on the labels) from the
    same labels the head was given: balanced accuracy on the scored rows, per way of
    choosing and per budget. Through the result cache: a second run costs no model call."""
    frame = pl.read_csv(DATA / task.file)
    rows, gold, n = data["rows"], data["gold"], int(data["scored"])
    cache = ResultCache(default_cache_path())
    backend = LlamaBackend(model_path(model))
    out: dict = {}
    try:
        runner = RuleRunner(frame, task.rule, backend, cache, exclude=["gold"])
        scored = frame[rows[:n].tolist()]
        for select, by_budget in picks.items():
            for budget, picked in by_budget.items():
                labelled = rows[picked].tolist()
                if task.rule.kind is Kind.FLAG:
                    answers: list[object] = [bool(gold[i]) for i in picked]
                else:
                    answers = [task.rule.labels[int(gold[i])] for i in picked]
                lesson = teach(task.rule, runner.records(labelled), answers, runner.judge_with)
                result = run_rule(RuleRunner(scored, lesson.rule, backend, cache, exclude=["gold"]))
                if task.rule.kind is Kind.FLAG:
                    threshold = (lesson.calibration or Calibration(threshold=0.5)).threshold
                    pred = (result.p_yes() >= threshold).astype(float)
                else:
                    pred, _ = result.decide(lesson.calibration or Calibration())
                score = balanced_accuracy(np.asarray(pred, dtype=float), gold[:n])
                out.setdefault(select, {})[str(budget)] = score
                log.info(
                    "%s / %s: taught from %d (%s): %.2f", model, task.name, budget, select, score
                )
    finally:
        backend.close()
        cache.close()
    return out


def taught_states_for(
    model: str, task: Task, data: dict, picked: list[int], cache_dir: Path
) -> dict:
    """The task's rows judged as a head that starts from teaching reads them: shown the
    examples today's teaching shows from `picked` (the first LEARN_FROM labels), keeping
    the app's layer's state (kept on disk)."""
    rows, gold = data["rows"], data["gold"]
    path = cache_dir / model / f"{task.name}-taught-{len(rows)}.npz"
    if path.exists():
        return dict(np.load(path, allow_pickle=False))
    frame = pl.read_csv(DATA / task.file)
    layer = round(DEPTHS["three quarters"] * (N_LAYERS[model] - 1))
    backend = LlamaBackend(model_path(model), state_layers=[layer])
    try:
        runner = RuleRunner(frame, task.rule, backend, NoCache(), exclude=["gold"])
        texts = runner.records(rows.tolist())
        if task.rule.kind is Kind.FLAG:
            answers: list[object] = [bool(gold[i]) for i in picked]
        else:
            answers = [task.rule.labels[int(gold[i])] for i in picked]
        base = replace(task.rule, examples=())
        taught = replace(base, examples=examples_for(base, [texts[i] for i in picked], answers))
        shown = {text for text, _ in taught.examples}
        start = time.perf_counter()
        got = []
        for i in range(0, len(texts), 16):
            got += backend.judge(taught, texts[i : i + 16])
        seconds = time.perf_counter() - start
    finally:
        backend.close()
    out = {
        "probs": np.asarray([a.probs for a in got], dtype=np.float64),
        "states": np.stack([a.state for a in got]).astype(np.float16),
        "examples": np.asarray([i for i in picked if texts[i] in shown]),
        "seconds": np.asarray(seconds),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **out)
    log.info("%s / %s judged as taught: %d rows in %.0f s", model, task.name, len(rows), seconds)
    return out


def _own_decision(probs: np.ndarray, flag: bool) -> np.ndarray:
    """The model's decision without labels: a flag at its unlabelled threshold, else the
    most likely label."""
    if flag:
        return (probs[:, 0] >= unlabeled_flag(probs[:, 0], None).threshold).astype(float)
    return np.argmax(probs, axis=1).astype(float)


def taught_from_judged(task: Task, data: dict, taught: dict, picks: dict) -> dict:
    """Today's teaching at each budget whose labels show the same examples as the rows
    judged as taught (label next's labels grow, so they often do): its threshold fitted
    on the labels the prompt does not show, judged by it, as teach.teach does; no model
    call. Budgets whose examples differ, or whose held-out labels are of one answer
    (teach.teach then cross-fits other prompts), are left out."""
    frame = pl.read_csv(DATA / task.file)
    rows, y, n = data["rows"], data["gold"], int(data["scored"])
    texts = records(frame, record_columns(frame.columns, task.rule.references(), ["gold"]), rows)
    flag = task.rule.kind is Kind.FLAG
    base = replace(task.rule, examples=())

    def examples(picked: list[int]) -> tuple:
        answers = [bool(y[i]) if flag else task.rule.labels[int(y[i])] for i in picked]
        return examples_for(base, [texts[i] for i in picked], answers)

    shown_by_judged = examples(picks[LEARN_FROM])
    shown = {text for text, _ in shown_by_judged}
    out = {}
    for budget, picked in picks.items():
        if examples(picked) != shown_by_judged:
            continue
        held = np.asarray([i for i in picked if texts[i] not in shown])
        if flag:
            p = taught["probs"][:, 0]
            if len(held) < 4 or not 0 < y[held].sum() < len(held):
                continue
            cut = from_gold(p[held], y[held] == 1.0).value
            pred = (p[:n] >= cut).astype(float)
        else:
            pred = np.argmax(taught["probs"][:n], axis=1).astype(float)
        out[str(budget)] = balanced_accuracy(pred, y[:n])
    return out


def learned_as_taught(data: dict, taught: dict, flag: bool, k: int, picks: dict) -> dict:
    """Balanced accuracy on the scored rows of the head over the rows judged as taught,
    fitted on each budget's labels but the examples' rows (as the app fits it)."""
    n, y = int(data["scored"]), data["gold"]
    probs = taught["probs"][:, 0] if flag else taught["probs"]
    ans = answer_features(probs)
    states = taught["states"].astype(np.float64)
    x = np.hstack([ans, Reducer.fit(states, k).transform(states)])
    bias = own_bias(taught["probs"][:, 0]) if flag else 0.0
    shown = set(taught["examples"].tolist())
    out = {}
    for budget, picked in picks.items():
        labels = np.zeros(len(y), dtype=bool)
        labels[[i for i in picked if i not in shown]] = True
        if len(np.unique(y[labels])) < 2:  # nothing to fit (learn): the model's own decision
            pred, choice = _own_decision(taught["probs"], flag), None
        else:
            pred, choice = _predict(x, y[labels], labels, ans.shape[1], True, bias)
        out[str(budget)] = {
            "head": balanced_accuracy(pred[:n], y[:n]),
            "learned": bool(choice is not None and choice.penalty is not None),
        }
    return out


def teaching_orders(data: dict, taught: dict, draws: int = RANDOM_DRAWS) -> dict:
    """A taught flag rule's balanced accuracy on the scored rows when its labels come at
    random (as the app asks a rule that does not learn) or by label next's order for a
    head (unsure under today's teaching, spread over the states, 4 random marks first),
    `draws` seeds each;
    no model call. The prompt is the one judged as taught (its examples fixed, as once a
    rule has 4 marks of each answer), so what the order changes is the threshold fitted
    on the labels it does not show."""
    n, y = int(data["scored"]), data["gold"]
    p = taught["probs"][:, 0]
    states = taught["states"].astype(np.float32)
    z = reducer_for(states, np.arange(len(states))).transform(states)  # the app's spread
    shown = set(taught["examples"].tolist())
    pool = np.arange(n, len(y))

    def cut(picked: list[int]) -> float:
        held = np.asarray([i for i in picked if i not in shown], dtype=np.int64)
        if len(held) < 4 or not 0 < y[held].sum() < len(held):
            return unlabeled_flag(p, None).threshold
        return from_gold(p[held], y[held] == 1.0).value

    def score(picked: list[int]) -> float:
        return balanced_accuracy((p[:n] >= cut(picked)).astype(float), y[:n])

    scores: dict[str, dict[int, list[float]]] = {"random": {}, "next": {}}
    for seed in range(draws):
        order = [int(i) for i in np.random.default_rng(seed).permutation(pool)]
        picked = order[:FIRST_MARKS]
        for budget in (b for b in BUDGETS if b >= 16):
            scores["random"].setdefault(budget, []).append(score(order[:budget]))
            while len(picked) < budget:
                asked = np.zeros(len(y), dtype=bool)
                asked[picked] = True
                asked[:n] = True  # never the scored rows
                picked.append(label_next(p, z, asked, 1, cut(picked))[0])
            scores["next"].setdefault(budget, []).append(score(picked))
    return {s: {str(b): float(np.mean(v)) for b, v in by.items()} for s, by in scores.items()}


def tap_cost(model: str, rounds: int = 3, rows: int = 48) -> dict:
    """Rows/s judging reviews without the state tap, with the app's (one layer kept,
    projected: keep_states) and with the three layers this benchmark reads, alternately
    (medians)."""
    frame = pl.read_csv(DATA / "reviews.csv").sample(rows, seed=1)
    rule = load_tasks(["reviews"])[0].rule
    texts = records(frame, record_columns(frame.columns, rule.references(), ["gold"]), range(rows))
    rates: dict[str, list[float]] = {"plain": [], "kept": [], "tapped": []}
    three = _layers(N_LAYERS[model])
    for _ in range(rounds):
        for name, layers, keep in (
            ("plain", (), False),
            ("kept", (), True),
            ("tapped", three, False),
        ):
            backend = LlamaBackend(model_path(model), state_layers=layers, keep_states=keep)
            rates[name].append(rows_per_s(backend, rule, texts))
    medians = {k: float(np.median(v)) for k, v in rates.items()}
    return {
        "rows_per_s": rates,
        "medians": medians,
        "kept_ratio": medians["kept"] / medians["plain"],
        "ratio": medians["tapped"] / medians["plain"],
    }


def rows_per_s(backend: LlamaBackend, rule, texts: list[str]) -> float:
    """Rows/s judging `texts` in batches of 16 once the prefix is decoded; closes `backend`."""
    try:
        backend.judge(rule, texts[:2])  # the prefix, decoded once
        start = time.perf_counter()
        for i in range(0, len(texts), 16):
            backend.judge(rule, texts[i : i + 16])
        return len(texts) / (time.perf_counter() - start)
    finally:
        backend.close()


def redecide_cost(rows: int = 10_000, labels: int = 64, rounds: int = 5) -> dict:
    """Seconds to learn a column's labels again and re-decide every row from stored states
    (what a new mark costs a learned column: no model call), on the kept shape (512 dims,
    float16), medians of `rounds`: the fit (off the loop) and the re-decision (on it)."""
    rng = np.random.default_rng(0)
    truth = rng.random(rows) < 0.3
    states = rng.standard_normal((rows, KEPT_DIMS)).astype(np.float16)
    states[:, 0] += truth * 2
    p_yes = np.clip(0.5 + 0.1 * rng.standard_normal(rows), 0.01, 0.99)
    probs = np.stack([p_yes, 1 - p_yes], axis=1)
    has = np.ones(rows, dtype=bool)
    y = np.full(rows, np.nan)
    y[:labels] = truth[:labels]
    fits, decides = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        learned = learn(*fit_input(probs, states, has, y), Shape.FLAG)
        fits.append(time.perf_counter() - start)
        start = time.perf_counter()
        learned.probs(probs, states, has)  # type: ignore[union-attr]
        decides.append(time.perf_counter() - start)
    return {
        "rows": rows,
        "labels": labels,
        "fit_s": float(np.median(fits)),
        "redecide_s": float(np.median(decides)),
    }


def _layer(data: dict, depth: str) -> np.ndarray:
    k = list(DEPTHS).index(depth)
    states = data["states"].astype(np.float64)
    d = states.shape[1] // len(DEPTHS)
    return states[:, k * d : (k + 1) * d]


def _predict(
    x: np.ndarray,
    y_rows: np.ndarray,
    labels: np.ndarray,
    n_answer: int,
    use_head: bool,
    bias: float = 0.0,
):
    """Fit on the labelled rows and predict every row: the head, or the answer alone
    (`bias`: the model's own decision's offset, which the fit starts from)."""
    cols = slice(None) if use_head else slice(0, n_answer)
    choice = choose_head(x[labels][:, cols], y_rows, n_answer, bias=bias) if use_head else None
    penalty = choice.penalty if choice is not None else None
    if use_head and penalty is None:
        cols = slice(0, n_answer)
    if len(np.unique(y_rows)) < 2:
        return np.full(len(x), y_rows[0]), choice
    head = fit_head(x[labels][:, cols], y_rows, penalty or 1e6, n_answer, bias=bias)
    return head.predict(x[:, cols]), choice


def curve(data: dict, flag: bool, depth: str, k: int, select: str, seed: int) -> dict:
    """Balanced accuracy on the scored rows at each label budget, for one way of choosing."""
    n_scored = int(data["scored"])
    y = data["gold"]
    probs = data["probs"][:, 0] if flag else data["probs"]
    ans = answer_features(probs)
    z = Reducer.fit(_layer(data, depth), k).transform(_layer(data, depth))
    x = np.hstack([ans, z])
    bias = own_bias(data["probs"][:, 0]) if flag else 0.0
    pool = np.arange(n_scored, len(y))
    rng = np.random.default_rng(seed)
    order = list(rng.permutation(pool))
    labelled = np.zeros(len(y), dtype=bool)
    out: dict = {}
    picked: list[int] = []
    for budget in BUDGETS:
        if select == "random":
            picked = order[:budget]
        else:
            if not picked:
                picked = order[:FIRST_MARKS]
            while len(picked) < budget:
                labelled[:] = False
                labelled[picked] = True
                current = _current_probs(x, y, labelled, ans.shape[1], probs, flag, bias)
                nxt = label_next(current, z, labelled | (np.arange(len(y)) < n_scored), 1)
                picked.append(nxt[0])
        labels = np.zeros(len(y), dtype=bool)
        labels[picked] = True
        pred_head, choice = _predict(x, y[labels], labels, ans.shape[1], True, bias)
        pred_answer, _ = _predict(x, y[labels], labels, ans.shape[1], False, bias)
        scored = slice(0, n_scored)
        out[budget] = {
            "head": balanced_accuracy(pred_head[scored], y[scored]),
            "threshold": balanced_accuracy(pred_answer[scored], y[scored]),
            "learned": bool(choice is not None and choice.penalty is not None),
            "picked": [int(i) for i in picked],
        }
    return out


def _current_probs(x, y, labelled, n_answer, probs, flag, bias=0.0) -> np.ndarray:
    """What the app would decide with the labels so far (before 8 labels: the answer)."""
    rows = np.flatnonzero(labelled)
    if len(rows) < 8 or len(np.unique(y[rows])) < 2:
        return probs
    choice = choose_head(x[rows], y[rows], n_answer, bias=bias)
    cols = slice(None) if choice.penalty is not None else slice(0, n_answer)
    head = fit_head(x[rows][:, cols], y[rows], choice.penalty or 1e6, n_answer, bias=bias)
    p = head.proba(x[:, cols])
    if flag:
        return p[:, list(head.classes).index(1.0)] if 1.0 in head.classes else p[:, 0] * 0
    full = np.zeros((len(x), probs.shape[1]))
    full[:, head.classes.astype(int)] = p
    return full


def zero_shot(data: dict, flag: bool) -> float:
    n = int(data["scored"])
    return balanced_accuracy(_own_decision(data["probs"], flag)[:n], data["gold"][:n])


def evaluate(data: dict, flag: bool, depth: str, k: int, next_too: bool) -> dict:
    draws = [curve(data, flag, depth, k, "random", s) for s in range(RANDOM_DRAWS)]
    for draw in draws[1:]:
        for b in BUDGETS:
            draw[b].pop("picked")
    out = {
        "random": {
            str(b): {m: float(np.mean([d[b][m] for d in draws])) for m in ("head", "threshold")}
            | {"picked": draws[0][b]["picked"]}  # the first draw's labels (teaching reuses them)
            for b in BUDGETS
        }
    }
    if next_too:
        out["next"] = {
            str(b): {m: v for m, v in r.items() if m != "learned"}  # with the labels picked
            for b, r in curve(data, flag, depth, k, "next", 0).items()
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="qwen2.5-coder-0.5b")
    parser.add_argument("--scored", type=int, default=80)
    parser.add_argument("--pool", type=int, default=160)
    parser.add_argument("--tasks", default="")
    parser.add_argument("--dims", default="8,16,32")
    parser.add_argument("--states-only", action="store_true")
    parser.add_argument("--tap-cost", action="store_true", help="only the tap's cost in rows/s")
    parser.add_argument("--table", action="store_true", help="only the README tables, again")
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
        write_readme(json.loads(OUT.read_text()))
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
    write_readme(previous)
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
    """One tier's figures into bench/learn.json (the others as they are), and the README."""
    saved = json.loads(OUT.read_text())
    saved[model] = run
    write(saved)
    write_readme(saved)
    print(table(run, model))


def write_readme(results: dict) -> None:
    """Every tier's table (bench/learn.json) between the README's learn markers."""
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


if __name__ == "__main__":
    main()
