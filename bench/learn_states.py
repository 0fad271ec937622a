"""The learning curve's rows: each task's scored and pool rows judged once, with the
model's answers and its states at three depths (kept under .bench-cache/learn/).
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl

from bench.tasks import DATA, Task, task_gold
from fastsheet.backends.llama_backend import LlamaBackend
from fastsheet.backends.models import CATALOGUE, models_dir
from fastsheet.kinds.rules import Kind
from fastsheet.learning.teach import examples_for
from fastsheet.sheet.cache import NoCache
from fastsheet.sheet.runner import RuleRunner
from fastsheet.stats.calibrate import unlabeled_flag

log = logging.getLogger("bench.learn")


HERE = Path(__file__).parent


ROOT = HERE.parent


BUDGETS = (8, 16, 32, 64)


DEPTHS = {"middle": 0.5, "three quarters": 0.75, "final": -1}


RANDOM_DRAWS = 5


N_LAYERS = {"qwen2.5-coder-0.5b": 24, "qwen2.5-coder-1.5b": 28}


FIRST_MARKS = 4


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
    gold = task_gold(task, frame["gold"])
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


def _layer(data: dict, depth: str) -> np.ndarray:
    k = list(DEPTHS).index(depth)
    states = data["states"].astype(np.float64)
    d = states.shape[1] // len(DEPTHS)
    return states[:, k * d : (k + 1) * d]
