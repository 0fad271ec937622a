"""The score kind: a number on a scale per row (the expected value over the scale)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import polars as pl

from fastsheet.data.cells import Answer
from fastsheet.data.errors import RuleError
from fastsheet.data.question import Score
from fastsheet.kinds.base import NUMBER_STYLE, ColumnKind
from fastsheet.kinds.label import LOW_TOP_P, weighted
from fastsheet.kinds.registry import register
from fastsheet.kinds.rules import Rule
from fastsheet.stats.calibrate import Calibration
from fastsheet.stats.head import Shape


@dataclass(frozen=True)
class ScoreSummary:
    total: int
    done: int
    mean: float
    low: float
    high: float
    skipped: int = 0

    def text(self) -> str:
        text = f"mean {self.mean:.2f} ({self.done:,} / {self.total:,} scored)"
        return text + (f" · {self.skipped:,} skipped" if self.skipped else "")


def parse_scale(text: str) -> tuple[int, int]:
    """Parse `LO-HI`, e.g. `1-5`."""
    match = re.fullmatch(r"\s*(-?\d+)\s*-\s*(-?\d+)\s*", text)
    if not match:
        raise RuleError(f"Bad scale {text!r}: write it as LO-HI, e.g. 1-5.")
    return int(match.group(1)), int(match.group(2))


class ScoreKind(ColumnKind):
    name = "score"
    base_name = "score"
    default_text = "How strong is it?"
    summary = "score: a number on a scale"
    option = "scale"
    default_options = MappingProxyType({"scale": "1-5"})
    style = NUMBER_STYLE
    labelable = True
    shape = Shape.SCALE

    def check(self, rule: Rule) -> dict[str, object]:
        lo, hi = rule.scale
        if lo >= hi or hi - lo > 20:
            raise RuleError(
                f"Bad scale {lo}-{hi}: give LO-HI with LO < HI and at most 21 steps, e.g. 1-5."
            )
        return {}

    def make(self, text: str, name: str, options: Mapping[str, str], base: Rule | None) -> Rule:
        scale = parse_scale(options.get("scale") or "1-5")
        where = options.get("where", "")
        return Rule(text, name=name, kind=self.kind, scale=scale, where=where, **self.kept(base))  # type: ignore[arg-type]

    def identity(self, rule: Rule) -> dict[str, object]:
        return {"scale": list(rule.scale)}

    def candidates(self, rule: Rule) -> tuple[str, ...]:
        lo, hi = rule.scale
        return tuple(str(v) for v in range(lo, hi + 1))

    def answer_text(self, rule: Rule, value: object) -> str:
        return str(round(float(value)))  # type: ignore[arg-type]

    def question(self, rule: Rule) -> Score:
        return Score(rule.text, *rule.scale)

    def answer(self, rule: Rule, probs: Sequence[float]) -> Answer:
        candidates = self.candidates(rule)
        best = max(range(len(probs)), key=probs.__getitem__)
        expected = sum(float(c) * float(p) for c, p in zip(candidates, probs, strict=True))
        return Answer(value=expected, p=float(probs[best]), probs=tuple(map(float, probs)))

    def decide(
        self, probs: np.ndarray, candidates: tuple[str, ...], calibration: Calibration
    ) -> tuple[np.ndarray, np.ndarray]:
        values = np.asarray([float(c) for c in candidates])
        return probs @ values, probs.max(axis=1)

    def low_confidence(self, probs: np.ndarray, calibration: Calibration) -> np.ndarray:
        return np.nan_to_num(weighted(probs, calibration).max(axis=1), nan=1.0) < LOW_TOP_P

    def summarize(
        self,
        values: np.ndarray,
        total: int,
        candidates: tuple[str, ...],
        exact: np.ndarray | None,
        skipped: int = 0,
    ) -> ScoreSummary:
        n_done, total = len(values), total - skipped
        mean = float(values.mean()) if n_done else float("nan")
        sd = float(values.std(ddof=1)) if n_done > 1 else 0.0
        half = 1.96 * sd / math.sqrt(n_done) if n_done else float("nan")
        if n_done and total > n_done:
            half *= math.sqrt((total - n_done) / max(total - 1, 1))
        elif n_done >= total:
            half = 0.0
        return ScoreSummary(total, n_done, mean, mean - half, mean + half, skipped)

    # ----- known answers: a point on the scale, kept as its step from the bottom ---------

    def read_gold(self, series: pl.Series, rule: Rule) -> np.ndarray | None:
        values = series.cast(pl.Float64, strict=False).fill_null(np.nan).to_numpy()
        return steps_on(np.asarray(values, dtype=np.float64), rule.scale)

    def encode(self, rule: Rule, value: object) -> float:
        step = steps_on(np.asarray([float(value)]), rule.scale)[0]  # type: ignore[arg-type]
        if np.isnan(step):
            lo, hi = rule.scale
            raise ValueError(f"{value} is not on the scale {lo}-{hi}")
        return float(step)

    def decode(self, rule: Rule, x: float) -> object:
        return None if np.isnan(x) else rule.scale[0] + int(x)

    def as_labels(self, rule: Rule, values: np.ndarray) -> np.ndarray:
        return steps_on(values, rule.scale)  # a score is right when it rounds to the label

    def mark_series(self, name: str, values: list[object]) -> pl.Series:
        return pl.Series(name, [None if v is None else int(v) for v in values], dtype=pl.Int64)  # type: ignore[call-overload]

    def mark_choices(self, rule: Rule) -> tuple[tuple[str, object], ...]:
        lo, hi = rule.scale
        return tuple((str(v), v) for v in range(lo, hi + 1))


def steps_on(values: np.ndarray, scale: tuple[int, int]) -> np.ndarray:
    """Scores as steps from the scale's bottom, each rounded to the nearest point (halves
    up); NaN where a value is missing or off the scale by more than half a step."""
    lo, hi = scale
    points = np.floor(np.asarray(values, dtype=np.float64) + 0.5)
    with np.errstate(invalid="ignore"):
        on = (points >= lo) & (points <= hi)
    return np.where(on, points - lo, np.nan)


SCORE = register(ScoreKind())
