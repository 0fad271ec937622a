"""Excel export: results as typed cells, flags tinted as in the grid, and a summary sheet."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from fastsheet.data.errors import DataError
from fastsheet.data.table import atomic_write, nested_as_text
from fastsheet.kinds import kind_of
from fastsheet.kinds.base import FLAG_STYLE
from fastsheet.kinds.rules import Rule
from fastsheet.sheet.summary import FlagSummary, GoldAgreement, LabelSummary, Summary

MAX_ROWS = 1_048_575  # Excel's sheet limit, less the header row
RESULTS_SHEET = "Results"
SUMMARY_SHEET = "Summary"
FLAGGED_TINT = "#fbd3d4"  # light tints of the grid's flagged red and cleared green
CLEARED_TINT = "#dff3e8"
AUTOFIT_ROWS = 20_000  # measuring every cell of a larger sheet takes too long


@dataclass(frozen=True)
class RuleReport:
    """What the summary sheet says about one rule column."""

    rule: Rule
    result: str  # e.g. "12 / 340 flagged (3.5%)"
    share: float | None = None  # flagged share of the answered rows (flag rules)
    distribution: str = ""  # e.g. "spam: 12, ham: 300" (label rules)
    agreement: str = ""  # agreement with the known answers, if any

    @classmethod
    def of(cls, rule: Rule, summary: Summary, agreement: GoldAgreement | None) -> RuleReport:
        return cls(
            rule,
            summary.text(),
            share=summary.share if isinstance(summary, FlagSummary) else None,
            distribution=", ".join(f"{k}: {v:,}" for k, v in summary.counts.items())
            if isinstance(summary, LabelSummary)
            else "",
            agreement=agreement.text() if agreement is not None and agreement.n else "",
        )

    def row(self) -> dict[str, object]:
        return {
            "column": self.rule.name,
            "kind": self.rule.kind.value,
            "rule": self.rule.text,
            "result": self.result,
            "share": self.share,
            "labels": self.distribution,
            "agreement with known answers": self.agreement,
        }


def write_workbook(frame: pl.DataFrame, path: Path, reports: list[RuleReport]) -> None:
    """The frame on a Results sheet, the rules' summary on a second sheet; atomic."""
    if frame.height > MAX_ROWS:
        raise DataError(
            f"Excel holds at most {MAX_ROWS:,} rows and this sheet has {frame.height:,}: "
            "export to CSV or Parquet instead."
        )
    frame = nested_as_text(frame)
    atomic_write(path, lambda tmp: _write(frame, tmp, reports))


def _write(frame: pl.DataFrame, target: str, reports: list[RuleReport]) -> None:
    import xlsxwriter

    flags = [
        r.rule.name
        for r in reports
        if kind_of(r.rule).style == FLAG_STYLE and r.rule.name in frame.columns
    ]
    probabilities = [f"{r.rule.name}_p" for r in reports if f"{r.rule.name}_p" in frame.columns]
    with xlsxwriter.Workbook(target) as book:
        flagged = {"bg_color": FLAGGED_TINT, "font_color": "#8d1d20"}
        cleared = {"bg_color": CLEARED_TINT}
        frame.write_excel(
            book,
            RESULTS_SHEET,
            column_formats=dict.fromkeys(probabilities, "0.0%"),
            conditional_formats={
                name: [
                    {"type": "cell", "criteria": "==", "value": "TRUE", "format": flagged},
                    {"type": "cell", "criteria": "==", "value": "FALSE", "format": cleared},
                ]
                for name in flags
            },
            header_format={"bold": True, "bottom": 1},
            freeze_panes=(1, 0),
            autofit=frame.height <= AUTOFIT_ROWS,
            float_precision=6,
        )
        summary = pl.DataFrame(
            [r.row() for r in reports],
            schema={
                "column": pl.String,
                "kind": pl.String,
                "rule": pl.String,
                "result": pl.String,
                "share": pl.Float64,
                "labels": pl.String,
                "agreement with known answers": pl.String,
            },
        )
        summary.write_excel(
            book,
            SUMMARY_SHEET,
            column_formats={"share": "0.0%"},
            column_widths={"rule": 420, "result": 220, "agreement with known answers": 320},
            header_format={"bold": True, "bottom": 1},
            freeze_panes=(1, 0),
        )
