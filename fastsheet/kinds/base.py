"""What a column kind decides, in one place: the base every kind module fills in.

A kind says how its rule is checked and asked, how the model's candidate probabilities
become values, how a column of values is counted, how known answers are read, and which
look its values take (`style`: the UI maps styles to text and colours). The engine, the
summary, export and the UI ask the kind; they never branch on it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np
import polars as pl

from fastsheet.data.cells import Answer
from fastsheet.data.question import Question
from fastsheet.kinds.results import ResultColumn
from fastsheet.kinds.rules import Kind, Rule
from fastsheet.stats.calibrate import Calibration
from fastsheet.stats.head import Shape

_REFERENCE = re.compile(r"\{([^{}]+)\}")

#: how a kind's values look; the UI maps each style to text and colours
FLAG_STYLE, CATEGORY_STYLE, NUMBER_STYLE, TEXT_STYLE = "flag", "category", "number", "text"
VALUE_STYLE = "value"  # as the value's type says: true/false, a number, text


class ColumnKind:
    """A column kind. Subclasses are singletons registered in `fastsheet.kinds`."""

    name: str = ""  # the Kind value, e.g. "flag"
    base_name: str = ""  # a new column's name
    default_text: str = ""  # a new column's rule text
    summary: str = ""  # one line for the kind picker's tooltip
    option: str | None = None  # the option the formula bar shows: "labels", "scale" or None
    default_options: Mapping[str, str] = MappingProxyType({})  # a new column's options
    style: str = TEXT_STYLE
    judged: bool = True  # the model answers it
    labelable: bool = False  # takes known answers (gold column, marks) and is taught by them
    shape: Shape | None = None  # what a head learned from its labels predicts (learned.py)
    thresholded: bool = False  # its decisions come from a fitted threshold on p(yes)
    probes_content_free: bool = False  # calibrated on content-free records ("N/A")
    stores_text: bool = False  # answers are free text, not probabilities over candidates
    splittable: bool = False  # a compound rule can become formulas and rules joined by `and`
    polar: bool = False  # a yes is a finding or the good outcome, named by a noun (polarity)

    # ----- the rule ----------------------------------------------------------------------

    def check(self, rule: Rule) -> dict[str, object]:
        """Raise RuleError for a bad rule; return fields to normalise (e.g. labels)."""
        return {}

    def make(self, text: str, name: str, options: Mapping[str, str], base: Rule | None) -> Rule:
        """A rule of this kind from what the user typed (options: "labels", "scale", and
        "where", the condition)."""
        extra = {"max_tokens": base.max_tokens, "yes_means": base.yes_means} if base else {}
        where = options.get("where", "")
        return Rule(
            text,
            name=name,
            kind=self.kind,
            where=where,
            **extra,  # type: ignore[arg-type]
            **self.kept(base),
        )

    def kept(self, base: Rule | None) -> dict[str, object]:
        """What an edited rule of the same kind keeps of its column's own settings: where
        its known answers come from, and whether it learns them."""
        if base is None or base.kind is not self.kind:
            return {}
        return {"gold": base.gold, "learn": base.learn}

    @property
    def kind(self) -> Kind:
        return Kind(self.name)

    def identity(self, rule: Rule) -> dict[str, object]:
        """The kind's options that change the answers (part of the rule's identity)."""
        return {}

    def candidates(self, rule: Rule) -> tuple[str, ...]:
        """The answers the model chooses between (empty for free text)."""
        return ()

    def answer_text(self, rule: Rule, value: object) -> str:
        """How the model should say `value` (an example's answer)."""
        return str(value)

    def rule_references(self, rule: Rule) -> list[str]:
        """The columns the rule names: `{column}` references, in order, without repeats."""
        return list(dict.fromkeys(m.strip() for m in _REFERENCE.findall(rule.text)))

    def new_result(self, rule: Rule, n: int, generation: int) -> ResultColumn:
        """An empty result column for `rule` over n rows."""
        return ResultColumn(rule, n, generation)

    # ----- asking the model --------------------------------------------------------------

    def question(self, rule: Rule) -> Question | None:
        """The typed question the rule asks of each row (None: computed, never asked)."""
        return None

    def answer(self, rule: Rule, probs: Sequence[float]) -> Answer:
        """Candidate probabilities (normalised over the candidates) as an Answer."""
        best = max(range(len(probs)), key=probs.__getitem__)
        return Answer(
            value=self.candidates(rule)[best], p=float(probs[best]), probs=tuple(map(float, probs))
        )

    def content_free(self, answers: Sequence[Answer]) -> Calibration | None:
        """The calibration from answers on content-free records, if the kind uses one."""
        return None

    # ----- values ------------------------------------------------------------------------

    def decide(
        self, probs: np.ndarray, candidates: tuple[str, ...], calibration: Calibration
    ) -> tuple[np.ndarray, np.ndarray]:
        """(value, p of that value) per row; NaN where not done."""
        n = len(probs)
        return np.zeros(n), np.full(n, np.nan)

    def low_confidence(self, probs: np.ndarray, calibration: Calibration) -> np.ndarray:
        """Rows whose answer is close to the decision boundary."""
        return np.zeros(len(probs), dtype=bool)

    def python_value(self, value: float, candidates: tuple[str, ...]) -> object:
        """One decided value as Python (None where there is none)."""
        return None if np.isnan(value) else float(value)

    def texts(self, values: np.ndarray, candidates: tuple[str, ...]) -> np.ndarray:
        """Decided values as the text a dependent rule reads ("yes", a label, "3.40")."""
        return np.char.mod("%.2f", np.nan_to_num(values))

    def export(self, name: str, values: np.ndarray, candidates: tuple[str, ...]) -> pl.Series:
        """Decided values as a typed column for export (null where there is none)."""
        return pl.Series(name, values, dtype=pl.Float64).fill_nan(None)

    def sort_key(self, probs: np.ndarray, values: np.ndarray, p: np.ndarray) -> np.ndarray:
        """What sorting the column orders by (NaN last)."""
        return values

    def summarize(
        self,
        values: np.ndarray,
        total: int,
        candidates: tuple[str, ...],
        exact: np.ndarray | None,
        skipped: int = 0,
    ) -> object:
        """A summary of the done rows' `values` among `total` rows (`exact`: which of them
        were judged out of the random order, e.g. visible rows, or None when all count
        alike; `skipped`: rows outside the condition, counted apart)."""
        raise NotImplementedError

    def worded(self, summary: object, rule: Rule) -> object:
        """The summary in the rule's own words (a flag counts its yes by its noun)."""
        return summary

    def breakdown(self, data: pl.DataFrame, by: str) -> pl.DataFrame:
        """Per group of `by` in `data` (columns `by` and `_v`, done rows only)."""
        return (
            data.group_by(by)
            .agg(pl.len().alias("rows"), pl.col("_v").mean().alias("mean"))
            .sort(by)
        )

    # ----- known answers -----------------------------------------------------------------

    def read_gold(self, series: pl.Series, rule: Rule) -> np.ndarray | None:
        """A gold column read as label floats, or None for a kind that takes none."""
        return None

    def as_labels(self, rule: Rule, values: np.ndarray) -> np.ndarray:
        """Decided values as label floats, to compare with known answers."""
        return values

    def mark_choices(self, rule: Rule) -> tuple[tuple[str, object], ...]:
        """The answers a mark can give, (text, value) each, in the order they are offered."""
        return ()

    def encode(self, rule: Rule, value: object) -> float:
        """A mark as a label float (ValueError: not an answer of this rule)."""
        raise ValueError(f"a {self.name} column takes no labels")

    def decode(self, rule: Rule, x: float) -> object:
        """A label float as the answer it stands for (None for NaN)."""
        return None

    def mark_series(self, name: str, values: list[object]) -> pl.Series:
        """Marked answers as an export column."""
        return pl.Series(name, [None if v is None else str(v) for v in values], dtype=pl.String)
