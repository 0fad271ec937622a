"""The flag kind: yes or no per row, decided by a threshold on p(yes)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from fastsheet.data.cells import Answer
from fastsheet.data.errors import DataError
from fastsheet.data.question import Noul
from fastsheet.kinds.base import FLAG_STYLE, ColumnKind
from fastsheet.kinds.polarity import of
from fastsheet.kinds.registry import register
from fastsheet.kinds.rules import Rule
from fastsheet.stats.calibrate import Calibration, Mode, calibrate_flag
from fastsheet.stats.head import Shape
from fastsheet.stats.metrics import wilson

LOW_MARGIN = 0.2  # |logit(p) - logit(threshold)| below this is low confidence

#: how yes and no are written in a gold column, a mark or an example's answer
YES_WORDS = frozenset({"true", "yes", "y", "1", "t", "positive", "pos", "on-policy", "match"})
NO_WORDS = frozenset({"false", "no", "n", "0", "f", "negative", "neg", "off-policy"})


def is_yes(value: object) -> bool:
    """A flag's value read as yes: True, 1, or a yes word ("yes", "true", …)."""
    if isinstance(value, str):
        return value.strip().lower() in YES_WORDS
    return value is not None and bool(value == 1)  # True, 1, 1.0, numpy's True


@dataclass(frozen=True)
class FlagSummary:
    total: int
    done: int
    flagged: int
    low: float
    high: float
    estimate: (
        float | None
    ) = -1.0  # the whole column's share; -1: the done rows' share; None: unknown
    word: str = "flagged"  # what a yes is called: "flagged", or "true" for a formula
    skipped: int = 0  # rows outside the condition: done, never flagged, never judged

    @property
    def complete(self) -> bool:
        return self.done >= self.total

    @property
    def share(self) -> float:
        if self.complete or self.estimate == -1.0:
            return self.flagged / self.done if self.done else 0.0
        return self.estimate if self.estimate is not None else (self.low + self.high) / 2

    @property
    def margin(self) -> float:
        return max(self.share - self.low, self.high - self.share)

    def text(self) -> str:
        return self._counts() + (f" · {self.skipped:,} skipped" if self.skipped else "")

    def _counts(self) -> str:
        if self.complete:
            return f"{self.flagged:,} / {self.total:,} {self.word} ({100 * self.share:.1f}%)"
        if self.estimate is None:  # no random-order rows yet: say only what is known
            return (
                f"{self.flagged:,} of {self.done:,} {self.word} so far · whole column between "
                f"{100 * self.low:.0f}% and {100 * self.high:.0f}%"
            )
        return (
            f"≈ {100 * self.share:.1f}% ± {100 * self.margin:.1f}% "
            f"({self.done:,} of {self.total:,})"
        )


def flag_summary(
    yes: np.ndarray, total: int, exact: np.ndarray | None, skipped: int = 0
) -> FlagSummary:
    """Counts of the done rows' yes answers; while incomplete, the whole column's share.

    Rows judged out of the random order (`exact`) are counted exactly and kept out of
    the sample the estimate is drawn from. `skipped` of the `total` rows are outside the
    condition: done and not flagged, so the estimate covers only the rows left."""
    kept = _kept_summary(yes, total - skipped, exact)
    if not skipped:
        return kept
    f = kept.total / total
    estimate = kept.estimate if kept.estimate in (None, -1.0) else kept.estimate * f
    return FlagSummary(
        total,
        kept.done + skipped,
        kept.flagged,
        kept.low * f,
        kept.high * f,
        estimate,
        skipped=skipped,
    )


def _kept_summary(yes: np.ndarray, total: int, exact: np.ndarray | None) -> FlagSummary:
    n_done = len(yes)
    flagged = int(np.count_nonzero(yes))
    if exact is None or n_done >= total:
        low, high = wilson(flagged, n_done, total)
        return FlagSummary(total, n_done, flagged, low, high)
    k_exact, n_exact = int(np.count_nonzero(yes & exact)), int(np.count_nonzero(exact))
    k_sample, n_sample = flagged - k_exact, n_done - n_exact
    rest = total - n_exact
    if n_sample == 0:
        return FlagSummary(
            total, n_done, flagged, k_exact / total, (k_exact + rest) / total, estimate=None
        )
    lo, hi = wilson(k_sample, n_sample, rest)
    share = (k_exact + rest * k_sample / n_sample) / total
    return FlagSummary(
        total,
        n_done,
        flagged,
        (k_exact + rest * lo) / total,
        (k_exact + rest * hi) / total,
        estimate=share,
    )


def yes_no(series: pl.Series) -> np.ndarray:
    """A column of yes/no values as floats 1/0, NaN where blank or unreadable."""
    if series.dtype == pl.Boolean:
        return series.cast(pl.Float64).to_numpy()
    text = series.cast(pl.String).str.strip_chars().str.to_lowercase()
    out = (
        pl.select(
            pl.when(text.is_in(list(YES_WORDS)))
            .then(1.0)
            .when(text.is_in(list(NO_WORDS)))
            .then(0.0)
            .otherwise(None)
        )
        .to_series()
        .to_numpy()
    )
    if np.isnan(out).all() and len(out):
        raise DataError(
            f"Gold column {series.name!r} has no yes/no values: use true/false, yes/no or 1/0."
        )
    return out


def breakdown_yes(data: pl.DataFrame, by: str) -> pl.DataFrame:
    """Per group of `by`: rows, flagged count and share (`_v` is 1/0)."""
    agg = [pl.len().alias("rows"), pl.col("_v").sum().cast(pl.Int64).alias("flagged")]
    out = (
        data.group_by(by).agg(agg).with_columns((pl.col("flagged") / pl.col("rows")).alias("share"))
    )
    return out.sort("share", descending=True)


class FlagKind(ColumnKind):
    name = "flag"
    base_name = "flag"
    default_text = "Flag if "
    summary = "flag: yes/no"
    style = FLAG_STYLE
    labelable = True
    shape = Shape.FLAG
    thresholded = True
    probes_content_free = True
    splittable = True
    polar = True

    def candidates(self, rule: Rule) -> tuple[str, ...]:
        return ("Yes", "No")

    def answer_text(self, rule: Rule, value: object) -> str:
        return "Yes" if is_yes(value) else "No"

    def question(self, rule: Rule) -> Noul:
        return Noul(rule.text)

    def worded(self, summary: object, rule: Rule) -> object:
        if isinstance(summary, FlagSummary) and summary.word == "flagged":
            return replace(summary, word=of(rule).noun)
        return summary

    def answer(self, rule: Rule, probs: Sequence[float]) -> Answer:
        return Answer(value=None, p=float(probs[0]), probs=tuple(map(float, probs)))

    def content_free(self, answers: Sequence[Answer]) -> Calibration | None:
        p_cf = [a.p for a in answers if a.p is not None]
        return calibrate_flag(Mode.CONTENT_FREE, content_free_p=p_cf)

    def decide(
        self, probs: np.ndarray, candidates: tuple[str, ...], calibration: Calibration
    ) -> tuple[np.ndarray, np.ndarray]:
        p_yes = probs[:, 0]
        decision = p_yes >= calibration.threshold
        p = np.where(decision, p_yes, 1.0 - p_yes)
        return np.where(np.isnan(p_yes), np.nan, decision.astype(np.float64)), p

    def low_confidence(self, probs: np.ndarray, calibration: Calibration) -> np.ndarray:
        p = np.clip(probs[:, 0], 1e-6, 1 - 1e-6)
        t = min(max(calibration.threshold, 1e-6), 1 - 1e-6)
        margin = np.abs(np.log(p / (1 - p)) - math.log(t / (1 - t)))
        return margin < LOW_MARGIN

    def python_value(self, value: float, candidates: tuple[str, ...]) -> object:
        return None if np.isnan(value) else bool(value)

    def texts(self, values: np.ndarray, candidates: tuple[str, ...]) -> np.ndarray:
        return np.where(values == 1.0, "yes", "no")

    def export(self, name: str, values: np.ndarray, candidates: tuple[str, ...]) -> pl.Series:
        # NaN (not judged) must become empty: cast as it is, NaN would read as true
        return pl.Series(name, values, dtype=pl.Float64).fill_nan(None).cast(pl.Boolean)

    def sort_key(self, probs: np.ndarray, values: np.ndarray, p: np.ndarray) -> np.ndarray:
        return probs[:, 0]  # by p(yes): the most certain flags first when descending

    def summarize(
        self,
        values: np.ndarray,
        total: int,
        candidates: tuple[str, ...],
        exact: np.ndarray | None,
        skipped: int = 0,
    ) -> FlagSummary:
        return flag_summary(values == 1.0, total, exact, skipped)

    def breakdown(self, data: pl.DataFrame, by: str) -> pl.DataFrame:
        return breakdown_yes(data, by)

    def read_gold(self, series: pl.Series, rule: Rule) -> np.ndarray | None:
        return yes_no(series)

    def encode(self, rule: Rule, value: object) -> float:
        return 1.0 if is_yes(value) else 0.0

    def decode(self, rule: Rule, x: float) -> object:
        return None if np.isnan(x) else bool(x)

    def mark_series(self, name: str, values: list[object]) -> pl.Series:
        return pl.Series(name, [None if v is None else is_yes(v) for v in values], dtype=pl.Boolean)

    def mark_choices(self, rule: Rule) -> tuple[tuple[str, object], ...]:
        return (("Yes", True), ("No", False))


FLAG = register(FlagKind())
