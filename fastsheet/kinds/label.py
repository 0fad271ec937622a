"""The label kind: one of the user's labels per row."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import polars as pl

from fastsheet.data.cells import Answer
from fastsheet.data.errors import RuleError
from fastsheet.data.question import Choice
from fastsheet.kinds.base import CATEGORY_STYLE, ColumnKind
from fastsheet.kinds.registry import register
from fastsheet.kinds.rules import Rule
from fastsheet.stats.calibrate import Calibration, Mode, calibrate_label
from fastsheet.stats.head import Shape

LOW_TOP_P = 0.5  # top probability below this is low confidence


@dataclass(frozen=True)
class LabelSummary:
    total: int
    done: int
    counts: dict[str, int]
    skipped: int = 0

    def text(self) -> str:
        parts = [f"{label}: {count:,}" for label, count in self.counts.items()]
        text = f"{self.done:,} / {self.total:,} labelled — " + ", ".join(parts)
        return text + (f" · {self.skipped:,} skipped" if self.skipped else "")


def parse_labels(text: str) -> tuple[str, ...]:
    """Parse a label list (see `parse_label_options`), without the descriptions."""
    return parse_label_options(text)[0]


def parse_label_options(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Labels and what each means: "a, b, c", or with descriptions, options separated by
    ";" and a description after "=": "billing=invoices, refunds; technical=bugs; other".
    Descriptions are () when none is given."""
    if "=" in text or ";" in text:
        parts = [part.partition("=") for part in text.split(";") if part.strip()]
        labels = tuple(name.strip() for name, _, _ in parts)
        notes = tuple(" ".join(note.split()) for _, _, note in parts)
    else:
        labels = tuple(part.strip() for part in text.split(",") if part.strip())
        notes = ()
    if not labels or not all(labels):
        raise RuleError(
            "The label set is empty or has an empty label: give labels as --labels A,B,C, "
            'or with descriptions as --labels "billing=invoices, refunds; technical=bugs; other".'
        )
    return labels, notes if any(notes) else ()


def labels_text(labels: tuple[str, ...], descriptions: tuple[str, ...]) -> str:
    """Labels as the options field shows them (the inverse of `parse_label_options`)."""
    if not any(descriptions):
        return ", ".join(labels)
    return "; ".join(
        f"{label}={note}" if note else label
        for label, note in zip(labels, descriptions, strict=True)
    )


def label_indices(series: pl.Series, labels: tuple[str, ...]) -> np.ndarray:
    """A column of labels as label indices (float), NaN where not one of the labels."""
    lookup = {label.lower(): float(i) for i, label in enumerate(labels)}
    text = series.cast(pl.String).str.strip_chars().str.to_lowercase()
    return np.asarray([lookup.get(v, np.nan) if v is not None else np.nan for v in text.to_list()])


def weighted(probs: np.ndarray, calibration: Calibration) -> np.ndarray:
    """Candidate probabilities with the calibration's prior correction, renormalised."""
    if calibration.weights is None:
        return probs
    probs = probs * np.asarray(calibration.weights)
    return probs / probs.sum(axis=1, keepdims=True)


class LabelKind(ColumnKind):
    name = "label"
    base_name = "label"
    default_text = "Which kind is it?"
    summary = "label: one of your labels"
    option = "labels"
    default_options = MappingProxyType({"labels": "yes, no, unsure"})
    style = CATEGORY_STYLE
    labelable = True
    shape = Shape.CHOICE
    probes_content_free = True

    def check(self, rule: Rule) -> dict[str, object]:
        labels = tuple(label.strip() for label in rule.labels if label.strip())
        if not labels:
            raise RuleError("A label rule needs at least one label, e.g. --labels spam,ham.")
        if len(set(labels)) != len(labels):
            raise RuleError(f"Labels must be distinct: {', '.join(rule.labels)}.")
        notes = tuple(" ".join(note.split()) for note in rule.descriptions)
        if notes and len(notes) != len(rule.labels):
            raise RuleError("Give one description per label (empty for a label without one).")
        if notes:
            notes = tuple(n for n, label in zip(notes, rule.labels, strict=True) if label.strip())
        return {"labels": labels, "descriptions": notes if any(notes) else ()}

    def make(self, text: str, name: str, options: Mapping[str, str], base: Rule | None) -> Rule:
        labels, notes = parse_label_options(options.get("labels", ""))
        where = options.get("where", "")
        return Rule(
            text,
            name=name,
            kind=self.kind,
            labels=labels,
            descriptions=notes,
            where=where,
            **self.kept(base),  # type: ignore[arg-type]
        )

    def identity(self, rule: Rule) -> dict[str, object]:
        notes = {"descriptions": list(rule.descriptions)} if rule.descriptions else {}
        return {"labels": list(rule.labels)} | notes

    def candidates(self, rule: Rule) -> tuple[str, ...]:
        return rule.labels

    def question(self, rule: Rule) -> Choice:
        return Choice(rule.text, rule.labels, rule.descriptions)

    def content_free(self, answers: Sequence[Answer]) -> Calibration | None:
        return calibrate_label(Mode.CONTENT_FREE, np.asarray([a.probs for a in answers]))

    def decide(
        self, probs: np.ndarray, candidates: tuple[str, ...], calibration: Calibration
    ) -> tuple[np.ndarray, np.ndarray]:
        probs = weighted(probs, calibration)
        index = np.nan_to_num(probs, nan=-1.0).argmax(axis=1)
        value = np.where(np.isnan(probs[:, 0]), np.nan, index.astype(np.float64))
        return value, probs[np.arange(len(probs)), index]

    def low_confidence(self, probs: np.ndarray, calibration: Calibration) -> np.ndarray:
        return np.nan_to_num(weighted(probs, calibration).max(axis=1), nan=1.0) < LOW_TOP_P

    def python_value(self, value: float, candidates: tuple[str, ...]) -> object:
        return None if np.isnan(value) else candidates[int(value)]

    def texts(self, values: np.ndarray, candidates: tuple[str, ...]) -> np.ndarray:
        names = np.asarray(candidates, dtype=object)
        return names[np.nan_to_num(values).astype(np.int64)]

    def export(self, name: str, values: np.ndarray, candidates: tuple[str, ...]) -> pl.Series:
        labels = pl.Series(list(candidates), dtype=pl.String)
        index = pl.Series(values).fill_nan(None).cast(pl.Int64)
        return labels.gather(index).alias(name)

    def sort_key(self, probs: np.ndarray, values: np.ndarray, p: np.ndarray) -> np.ndarray:
        return values + np.nan_to_num(p, nan=0.0) * 1e-3  # by label, surest first within

    def summarize(
        self,
        values: np.ndarray,
        total: int,
        candidates: tuple[str, ...],
        exact: np.ndarray | None,
        skipped: int = 0,
    ) -> LabelSummary:
        counts = np.bincount(values.astype(np.int64), minlength=len(candidates))
        counts_by_label = dict(zip(candidates, map(int, counts), strict=True))
        return LabelSummary(total - skipped, len(values), counts_by_label, skipped)

    def read_gold(self, series: pl.Series, rule: Rule) -> np.ndarray | None:
        return label_indices(series, rule.labels)

    def encode(self, rule: Rule, value: object) -> float:
        return float(rule.labels.index(str(value)))

    def decode(self, rule: Rule, x: float) -> object:
        return None if np.isnan(x) else rule.labels[int(x)]

    def mark_choices(self, rule: Rule) -> tuple[tuple[str, object], ...]:
        return tuple((label, label) for label in rule.labels)


LABEL = register(LabelKind())
