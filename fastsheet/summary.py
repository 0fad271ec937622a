"""Column summaries: counts, running estimates with intervals, agreement with gold."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from fastsheet.calibrate import Calibration
from fastsheet.errors import DataError
from fastsheet.metrics import BinaryAgreement, binary_agreement, multiclass_balanced_accuracy
from fastsheet.results import DONE, ResultColumn
from fastsheet.rules import NO_WORDS, YES_WORDS, Kind, Rule


def wilson(k: int, n: int, population: int | None = None, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson interval for k of n, narrowed by the finite-population correction."""
    if n <= 0:
        return 0.0, 1.0
    if population and n >= population:
        p = k / n
        return p, p
    n_eff = n * (population - 1) / (population - n) if population and population > n else n
    p = k / n
    denom = 1 + z * z / n_eff
    centre = (p + z * z / (2 * n_eff)) / denom
    half = z * math.sqrt(p * (1 - p) / n_eff + z * z / (4 * n_eff * n_eff)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


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
        if self.complete:
            return f"{self.flagged:,} / {self.total:,} flagged ({100 * self.share:.1f}%)"
        if self.estimate is None:  # no random-order rows yet: say only what is known
            return (
                f"{self.flagged:,} of {self.done:,} flagged so far · whole column between "
                f"{100 * self.low:.0f}% and {100 * self.high:.0f}%"
            )
        return (
            f"≈ {100 * self.share:.1f}% ± {100 * self.margin:.1f}% "
            f"({self.done:,} of {self.total:,})"
        )


@dataclass(frozen=True)
class LabelSummary:
    total: int
    done: int
    counts: dict[str, int]

    def text(self) -> str:
        parts = [f"{label}: {count:,}" for label, count in self.counts.items()]
        return f"{self.done:,} / {self.total:,} labelled — " + ", ".join(parts)


@dataclass(frozen=True)
class ScoreSummary:
    total: int
    done: int
    mean: float
    low: float
    high: float

    def text(self) -> str:
        return f"mean {self.mean:.2f} ({self.done:,} / {self.total:,} scored)"


@dataclass(frozen=True)
class TextSummary:
    total: int
    done: int

    def text(self) -> str:
        return f"{self.done:,} / {self.total:,} answered"


Summary = FlagSummary | LabelSummary | ScoreSummary | TextSummary


def summarize(
    result: ResultColumn, calibration: Calibration, prioritised: np.ndarray | None = None
) -> Summary:
    """Counts so far; while incomplete, a running estimate of the whole column.

    Rows judged out of the random order (`prioritised`, e.g. the visible ones) are
    counted exactly and kept out of the sample the estimate is drawn from."""
    idx = np.flatnonzero(result.state == DONE)  # the one pass over every row
    n_done, total = len(idx), len(result)
    kind = result.rule.kind
    if kind is Kind.TEXT:
        return TextSummary(total, n_done)
    values, _ = result.decide(calibration, idx)
    if kind is Kind.FLAG:
        yes = values == 1.0
        flagged = int(np.count_nonzero(yes))
        if prioritised is None or n_done >= total:
            low, high = wilson(flagged, n_done, total)
            return FlagSummary(total, n_done, flagged, low, high)
        exact = prioritised[idx]
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
    if kind is Kind.LABEL:
        counts = np.bincount(values.astype(np.int64), minlength=len(result.candidates))
        return LabelSummary(
            total, n_done, dict(zip(result.candidates, map(int, counts), strict=True))
        )
    mean = float(values.mean()) if n_done else float("nan")
    sd = float(values.std(ddof=1)) if n_done > 1 else 0.0
    half = 1.96 * sd / math.sqrt(n_done) if n_done else float("nan")
    if n_done and total > n_done:
        half *= math.sqrt((total - n_done) / max(total - 1, 1))
    elif n_done >= total:
        half = 0.0
    return ScoreSummary(total, n_done, mean, mean - half, mean + half)


# ----- gold ------------------------------------------------------------------------------


def gold_flags(series: pl.Series) -> np.ndarray:
    """Gold column as floats 1/0, NaN where blank or unreadable."""
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


def gold_labels(series: pl.Series, labels: tuple[str, ...]) -> np.ndarray:
    """Gold column as label indices (float), NaN where not one of the labels."""
    lookup = {label.lower(): float(i) for i, label in enumerate(labels)}
    text = series.cast(pl.String).str.strip_chars().str.to_lowercase()
    return np.asarray([lookup.get(v, np.nan) if v is not None else np.nan for v in text.to_list()])


def gold_values(series: pl.Series, rule: Rule) -> np.ndarray | None:
    """A gold column read for `rule`: 1/0 for a flag, label indices for a label, else None."""
    if rule.kind is Kind.FLAG:
        return gold_flags(series)
    if rule.kind is Kind.LABEL:
        return gold_labels(series, rule.labels)
    return None


@dataclass(frozen=True)
class GoldAgreement:
    n: int
    matches: int
    binary: BinaryAgreement | None
    balanced_accuracy: float

    @property
    def accuracy(self) -> float:
        return self.matches / self.n if self.n else float("nan")

    def text(self) -> str:
        head = f"{self.matches:,}/{self.n:,} match ({100 * self.accuracy:.1f}%)"
        if self.binary is None:
            return head + f", balanced accuracy {self.balanced_accuracy:.3f}"
        b = self.binary
        return (
            head + f", balanced accuracy {b.balanced_accuracy:.3f}, precision {b.precision:.3f}, "
            f"recall {b.recall:.3f} (TP {b.tp}, FP {b.fp}, TN {b.tn}, FN {b.fn})"
        )


def agreement(result: ResultColumn, calibration: Calibration, gold: np.ndarray) -> GoldAgreement:
    """Agreement of the done rows with gold (flag: 1/0 floats; label: index floats)."""
    values, _ = result.decide(calibration)
    mask = result.done_mask() & ~np.isnan(gold) & ~np.isnan(values)
    pred, truth = values[mask], gold[mask]
    matches = int(np.count_nonzero(pred == truth))
    if result.rule.kind is Kind.FLAG:
        binary = binary_agreement(pred == 1.0, truth == 1.0)
        return GoldAgreement(int(mask.sum()), matches, binary, binary.balanced_accuracy)
    return GoldAgreement(int(mask.sum()), matches, None, multiclass_balanced_accuracy(pred, truth))


def disagreements(result: ResultColumn, calibration: Calibration, gold: np.ndarray) -> np.ndarray:
    """Row ids where a done row's decision differs from gold."""
    values, _ = result.decide(calibration)
    mask = result.done_mask() & ~np.isnan(gold) & (values != gold)
    return np.flatnonzero(mask)


def groupable(frame: pl.DataFrame, column: str, limit: int = 50) -> bool:
    """Whether a column has few enough values (in a sample) to break results down by."""
    return frame[column].head(10_000).n_unique() <= limit


def breakdown(
    frame: pl.DataFrame, result: ResultColumn, calibration: Calibration, by: str
) -> pl.DataFrame:
    """Per group of `by`: rows done, and flagged count and share (flag) or mean value."""
    if by not in frame.columns:
        raise DataError(f"Unknown column {by!r} for the breakdown.")
    values, _ = result.decide(calibration)
    data = pl.DataFrame({by: frame[by], "_v": values, "_done": result.done_mask()}).filter(
        pl.col("_done")
    )
    if result.rule.kind is Kind.FLAG:
        agg = [pl.len().alias("rows"), pl.col("_v").sum().cast(pl.Int64).alias("flagged")]
        out = (
            data.group_by(by)
            .agg(agg)
            .with_columns((pl.col("flagged") / pl.col("rows")).alias("share"))
        )
        return out.sort("share", descending=True)
    return data.group_by(by).agg(pl.len().alias("rows"), pl.col("_v").mean().alias("mean")).sort(by)


def default_breakdown(
    frame: pl.DataFrame, exclude: Sequence[str] = (), max_groups: int = 20
) -> str | None:
    """The first column that groups rows into a few categories (a country, a status), or
    None. Free text, identifiers and continuous numbers make poor breakdowns."""
    sample = frame.head(100_000)
    for name in frame.columns[:200]:
        if name in exclude:
            continue
        series = sample[name]
        if series.dtype.is_float() or series.dtype.is_nested():
            continue
        groups = series.n_unique()
        if 2 <= groups <= max_groups and groups <= sample.height / 2:
            return name
    return None
