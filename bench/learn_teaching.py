"""Today's teaching from the same labels as the learning curve, and a head fitted over
rows judged as taught; label next's order against random labels for a taught rule.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
import polars as pl

from bench.learn_curve import _predict
from bench.learn_states import (
    BUDGETS,
    FIRST_MARKS,
    RANDOM_DRAWS,
    _own_decision,
    model_path,
)
from bench.tasks import DATA, Task
from fastsheet.backends.llama_backend import LlamaBackend
from fastsheet.data.paths import default_cache_path
from fastsheet.data.table import record_columns, records
from fastsheet.kinds.rules import Kind
from fastsheet.learning.label_next import label_next
from fastsheet.learning.learned import LEARN_FROM, own_bias, reducer_for
from fastsheet.learning.teach import examples_for, teach
from fastsheet.sheet.cache import ResultCache
from fastsheet.sheet.runner import RuleRunner
from fastsheet.sheet.runner import evaluate as run_rule
from fastsheet.stats.calibrate import Calibration, from_gold, unlabeled_flag
from fastsheet.stats.head import (
    Reducer,
    answer_features,
    balanced_accuracy,
)

log = logging.getLogger("bench.learn")


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
