"""Column summaries: counts, running estimates with intervals, agreement with gold."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from fastsheet.data.errors import DataError
from fastsheet.kinds import kind_of
from fastsheet.kinds.flag import FlagSummary, yes_no
from fastsheet.kinds.label import LabelSummary, label_indices
from fastsheet.kinds.results import ResultColumn
from fastsheet.kinds.rules import Rule
from fastsheet.kinds.score import ScoreSummary
from fastsheet.kinds.text import TextSummary
from fastsheet.stats.calibrate import Calibration
from fastsheet.stats.metrics import (
    BinaryAgreement,
    binary_agreement,
    multiclass_balanced_accuracy,
    wilson,
)

Summary = FlagSummary | LabelSummary | ScoreSummary | TextSummary

__all__ = ["FlagSummary", "LabelSummary", "ScoreSummary", "TextSummary", "wilson"]


def summarize(
    result: ResultColumn, calibration: Calibration, prioritised: np.ndarray | None = None
) -> Summary:
    """Counts so far; while incomplete, a running estimate of the whole column
    (ResultColumn.summary)."""
    return result.summary(calibration, prioritised)  # type: ignore[return-value]


# ----- gold ------------------------------------------------------------------------------


def gold_flags(series: pl.Series) -> np.ndarray:
    """Gold column as floats 1/0, NaN where blank or unreadable."""
    return yes_no(series)


def gold_labels(series: pl.Series, labels: tuple[str, ...]) -> np.ndarray:
    """Gold column as label indices (float), NaN where not one of the labels."""
    return label_indices(series, labels)


def gold_values(series: pl.Series, rule: Rule) -> np.ndarray | None:
    """A gold column read for `rule`: 1/0 for a flag, label indices for a label, steps on
    the scale for a score, else None."""
    return kind_of(rule).read_gold(series, rule)


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
    """Agreement of the done rows with gold (flag: 1/0 floats; label: index floats; score:
    steps, a score agreeing where it rounds to the label)."""
    values = result.kind.as_labels(result.rule, result.decide(calibration)[0])
    mask = result.done_mask() & ~np.isnan(gold) & ~np.isnan(values)
    pred, truth = values[mask], gold[mask]
    matches = int(np.count_nonzero(pred == truth))
    if result.kind.thresholded:
        binary = binary_agreement(pred == 1.0, truth == 1.0)
        return GoldAgreement(int(mask.sum()), matches, binary, binary.balanced_accuracy)
    return GoldAgreement(int(mask.sum()), matches, None, multiclass_balanced_accuracy(pred, truth))


def disagreements(result: ResultColumn, calibration: Calibration, gold: np.ndarray) -> np.ndarray:
    """Row ids where a done row's decision differs from gold."""
    values = result.kind.as_labels(result.rule, result.decide(calibration)[0])
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
    done = np.flatnonzero(result.done_mask())  # while evaluating, a few of many rows
    values, _ = result.decide(calibration, done)
    data = pl.DataFrame({by: frame[by].gather(done), "_v": values})
    return result.breakdown(data, by)


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
