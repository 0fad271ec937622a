"""The label kind: one of the user's labels per row."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from fastsheet.calibrate import Calibration, Mode, calibrate_label
from fastsheet.cells import Answer
from fastsheet.errors import RuleError
from fastsheet.framing import QUESTION_SYSTEM, RECORD, Exchange, Framing, fenced, in_words, legacy
from fastsheet.kinds.base import CATEGORY_STYLE, ColumnKind

if TYPE_CHECKING:
    from fastsheet.rules import Rule

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
    """Parse a comma-separated label list."""
    labels = tuple(part.strip() for part in text.split(",") if part.strip())
    if not labels:
        raise RuleError("The label set is empty: give labels as --labels A,B,C.")
    return labels


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
    probes_content_free = True

    def check(self, rule: Rule) -> dict[str, object]:
        labels = tuple(label.strip() for label in rule.labels if label.strip())
        if not labels:
            raise RuleError("A label rule needs at least one label, e.g. --labels spam,ham.")
        if len(set(labels)) != len(labels):
            raise RuleError(f"Labels must be distinct: {', '.join(rule.labels)}.")
        return {"labels": labels}

    def make(self, text: str, name: str, options: Mapping[str, str], base: Rule | None) -> Rule:
        from fastsheet.rules import Rule

        labels = parse_labels(options.get("labels", ""))
        return Rule(text, name=name, kind=self.kind, labels=labels, where=options.get("where", ""))

    def identity(self, rule: Rule) -> dict[str, object]:
        return {"labels": list(rule.labels)}

    def candidates(self, rule: Rule) -> tuple[str, ...]:
        return rule.labels

    def exchange(self, rule: Rule, framing: Framing) -> Exchange:
        if framing is Framing.RULE:
            return legacy(
                rule,
                "Labels: "
                + ", ".join(rule.labels)
                + "\nAnswer with the one label that fits the record.",
            )
        ask = in_words(rule.text.strip(), once=framing is Framing.QUESTION)
        options = ", ".join(rule.labels)
        if framing is Framing.FENCED:
            return fenced(
                f"Question: {ask}\nOptions: {options}",
                "Which option fits the text? Answer with the option only.",
            )
        follow_up = f"Text:\n{RECORD}\n\nWhich option fits? Answer with the option only."
        if framing in (Framing.STATEMENT, Framing.QUESTION):
            return Exchange(
                QUESTION_SYSTEM,
                f"Question: {ask}\nOptions: {options}\n\nText:\n{RECORD}\n\n"
                "Which option answers the question for the text above? Answer with the option only.",
                follow_up,
            )
        return Exchange(
            QUESTION_SYSTEM,
            f"{RECORD}\n\nQuestion: {ask}\nOptions: {options}\nAnswer with the option only.",
            follow_up,
        )

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


LABEL = LabelKind()
