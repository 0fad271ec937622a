"""The dev suite's tasks (bench/data/tasks.json): each task's rule, its rows and gold."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from fastsheet.kinds.rules import Kind, Rule
from fastsheet.sheet.summary import gold_flags, gold_labels

DATA = Path(__file__).parent / "data"


@dataclass(frozen=True)
class Task:
    file: str
    rule: Rule
    positive_rate: float | None

    @property
    def name(self) -> str:
        return self.file.removesuffix(".csv")


def load_tasks(names: list[str] | None = None) -> list[Task]:
    out = []
    for t in json.loads((DATA / "tasks.json").read_text()):
        kind = Kind(t["kind"])
        rule = Rule(t["rule"], kind=kind, labels=tuple(t.get("labels", ())))
        task = Task(t["file"], rule, t.get("positive_rate"))
        if not names or task.name in names:
            out.append(task)
    return out


def split(frame: pl.DataFrame, task: Task, rows: int, shots: int) -> tuple[list[int], list[int]]:
    """A seeded sample of rows to score, and `shots` labeled rows from outside it (balanced)."""
    order = np.random.default_rng(0).permutation(frame.height)
    scored = sorted(order[: min(rows, frame.height - shots)].tolist())
    rest = order[len(scored) :]
    gold = frame["gold"].cast(pl.String).str.to_lowercase().to_numpy()
    classes = sorted(set(gold[rest]))
    per = {c: [int(i) for i in rest if gold[i] == c] for c in classes}
    labeled: list[int] = []
    while len(labeled) < shots and any(per.values()):
        for c in classes:
            if per[c] and len(labeled) < shots:
                labeled.append(per[c].pop(0))
    return scored, labeled


def task_gold(task: Task, series: pl.Series) -> np.ndarray:
    if task.rule.kind is Kind.FLAG:
        return gold_flags(series)
    return gold_labels(series, task.rule.labels)
