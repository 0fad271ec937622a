"""A rule column's results as arrays: state, candidate probabilities, text.

No Python object per row: states are a uint8 array, probabilities a float64
matrix (one column per candidate). Decisions are derived with a Calibration.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np
import polars as pl

from fastsheet.data.cells import Answer, Cell, CellState
from fastsheet.kinds.registry import find as kind_of
from fastsheet.stats.calibrate import Calibration

if TYPE_CHECKING:
    from fastsheet.kinds.rules import Rule


class Redecider(Protocol):
    """What decides a learning column instead of the model's answers (a learned head)."""

    def probs(
        self, probs: np.ndarray, states: np.ndarray | None, has: np.ndarray | None
    ) -> np.ndarray: ...


STATE_CODES = {
    CellState.PENDING: 0,
    CellState.RUNNING: 1,
    CellState.DONE: 2,
    CellState.ERROR: 3,
    CellState.SKIPPED: 4,
}
_STATES = {code: state for state, code in STATE_CODES.items()}
PENDING, RUNNING, DONE, ERROR, SKIPPED = 0, 1, 2, 3, 4
#: where each answer came from, per row (NAME_source on export)
SOURCES = (None, "model", "cache", "skipped", "formula")
MODEL, CACHE, FORMULA = 1, 2, 4


class ResultColumn:
    """Results of one rule over n rows."""

    def __init__(self, rule: Rule, n: int, generation: int = 0) -> None:
        self.rule = rule
        self.kind = kind_of(rule)
        self.generation = generation
        self.candidates = rule.candidates()
        self.state = np.zeros(n, dtype=np.uint8)
        self.probs = np.full((n, max(1, len(self.candidates))), np.nan, dtype=np.float64)
        #: the model's own probabilities: `probs` itself, unless the rule's labels are
        #: learned (learned.py), when `probs` holds the head's and decisions read those
        self.model_probs = self.probs
        self.learned: Redecider | None = None
        self.text: list[str | None] | None = [None] * n if self.kind.stores_text else None
        self.errors: dict[int, str] = {}
        self.source = np.zeros(n, dtype=np.uint8)  # an index into SOURCES
        self.skipped = 0  # rows outside the condition
        self._dtype: pl.DataType | None = None  # the export type, once asked
        #: the model's state where it answered, per row (float16), allocated (untouched,
        #: so a row's memory is used once it is written) when the first answer that keeps
        #: one arrives; `has_state` says which rows hold one
        self.states: np.ndarray | None = None
        self.has_state = np.zeros(n, dtype=bool)

    def __len__(self) -> int:
        return len(self.state)

    def set_answers(
        self, rows: Sequence[int], answers: Sequence[Answer], source: int = MODEL
    ) -> None:
        idx = np.asarray(rows, dtype=np.int64)
        self.source[idx] = source
        if self.text is not None:
            for row, answer in zip(rows, answers, strict=True):
                self.text[row] = "" if answer.value is None else str(answer.value)
        else:
            self.model_probs[idx] = np.asarray([a.probs for a in answers], dtype=np.float64)
        self.state[idx] = DONE
        for row in rows:
            self.errors.pop(row, None)
        self._keep_states(rows, answers)
        if self.learned is not None and self.text is None:
            self.probs[idx] = self._learned_probs(self.learned, idx)

    def use(
        self,
        learned: Redecider | None,
        decided: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    ) -> None:
        """Decide by `learned` (None: by the model's own answers): every judged row's
        probabilities follow at once, from the stored states (no model call).

        `decided`: (probabilities, done, has_state) as `redecide` computed them off the
        loop from a snapshot; only rows answered since are computed here."""
        self.learned = learned
        if learned is None or self.text is not None:
            self.probs = self.model_probs
            return
        if decided is None:
            self.probs = learned.probs(self.model_probs, self.states, self.has_state)
            return
        probs, done, has = decided
        since = np.flatnonzero((self.state == DONE) & ~done | self.has_state & ~has)
        if len(since):
            probs[since] = self._learned_probs(learned, since)
        self.probs = probs

    def _learned_probs(self, learned: Redecider, idx: np.ndarray) -> np.ndarray:
        """The head's probabilities for rows `idx`, from their answers and states."""
        states = self.states[idx] if self.states is not None else None
        return learned.probs(self.model_probs[idx], states, self.has_state[idx])

    def redecide(self, learned: Redecider) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What `use(learned, ...)` needs, computed from a snapshot (off the loop: the
        judged rows' answers and states are not written again in a generation)."""
        done, has = self.state == DONE, self.has_state.copy()
        return learned.probs(self.model_probs, self.states, has), done, has

    def _keep_states(self, rows: Sequence[int], answers: Sequence[Answer]) -> None:
        self.has_state[np.asarray(rows, dtype=np.int64)] = False
        kept = [(row, a.state) for row, a in zip(rows, answers, strict=True) if a.state is not None]
        if not kept:
            return
        if self.states is None:
            self.states = np.empty((len(self), len(kept[0][1])), dtype=np.float16)
        at = [row for row, _ in kept]
        self.states[at] = np.stack([s for _, s in kept])
        self.has_state[at] = True

    def set_skipped(self, skip: np.ndarray) -> None:
        """Rows outside the condition (a bool mask): answered "skipped", never judged."""
        self.state[skip] = SKIPPED
        self.source[skip] = SOURCES.index("skipped")
        self.skipped = int(np.count_nonzero(skip))

    def set_state(self, rows: Sequence[int], code: int) -> None:
        self.state[np.asarray(rows, dtype=np.int64)] = code

    def set_error(self, rows: Sequence[int], message: str) -> None:
        self.set_state(rows, ERROR)
        for row in rows:
            self.errors[row] = message

    def as_text(self, calibration: Calibration) -> pl.Series:
        """Each row's answer as a dependent rule reads it: yes / no, the label, the score
        (two decimals) or the text; empty where there is none."""
        if self.text is not None:
            return pl.Series(self.rule.name, self.text, dtype=pl.String)
        values, _ = self.decide(calibration)
        missing = np.isnan(values)
        text = self.kind.texts(np.where(missing, 0.0, values), self.candidates)
        return pl.Series(self.rule.name, np.where(missing, "", text).tolist(), dtype=pl.String)

    def breakdown(self, data: pl.DataFrame, by: str) -> pl.DataFrame:
        """Per group of `by` in `data` (columns `by` and `_v`, done rows only)."""
        return self.kind.breakdown(data, by)

    def summary(self, calibration: Calibration, prioritised: np.ndarray | None = None) -> object:
        """Counts so far; while incomplete, a running estimate of the whole column.

        Rows judged out of the random order (`prioritised`, e.g. the visible ones) are
        counted exactly and kept out of the sample the estimate is drawn from."""
        idx = np.flatnonzero(self.state == DONE)  # the one pass over every row
        values, _ = self.decide(calibration, idx)
        exact = prioritised[idx] if prioritised is not None and len(idx) < len(self) else None
        summary = self.kind.summarize(values, len(self), self.candidates, exact, self.skipped)
        return self.kind.worded(summary, self.rule)

    def export_columns(self, calibration: Calibration, source: bool = False) -> list[pl.Series]:
        """NAME (the decision or value, typed), NAME_p (the probability of that answer)
        and with `source`, NAME_source: model, cache or skipped."""
        name = self.rule.name
        values, p = self.decide(calibration)
        if self.text is not None:
            column = pl.Series(name, self.text, dtype=pl.String)
        else:
            column = self.kind.export(name, values, self.candidates)
        out = [column, pl.Series(f"{name}_p", p, dtype=pl.Float64).fill_nan(None)]
        if source:
            out.append(self.source_column())
        return out

    def value_dtype(self) -> pl.DataType:
        """The type of NAME on export (what a formula over this column reads)."""
        if self._dtype is None and self.text is not None:
            self._dtype = pl.String
        elif self._dtype is None:
            self._dtype = self.kind.export(self.rule.name, np.empty(0), self.candidates).dtype
        return self._dtype

    def source_column(self) -> pl.Series:
        names = np.asarray(SOURCES, dtype=object)[self.source]
        return pl.Series(f"{self.rule.name}_source", names.tolist(), dtype=pl.String)

    def unfinished(self, rows: Sequence[int]) -> int:
        """How many of `rows` (each counted once) are neither done nor failed yet."""
        state = self.state[np.unique(np.asarray(rows, dtype=np.int64))]
        return int(np.count_nonzero((state != DONE) & (state != ERROR)))

    def done_mask(self) -> np.ndarray:
        return self.state == DONE

    @property
    def n_done(self) -> int:
        return int(np.count_nonzero(self.state == DONE))

    def p_yes(self) -> np.ndarray:
        return self.probs[:, 0].astype(np.float64)

    def decide(
        self, calibration: Calibration, rows: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(value, p of that value) arrays for `rows` (default: all); NaN where not done.

        flag: decisions as 1.0/0.0 and p of the decided answer; label: label index and
        its probability; score: expected value and the top score's probability; text:
        zeros and NaN."""
        probs = self.probs if rows is None else self.probs[rows]
        return self.kind.decide(probs, self.candidates, calibration)

    def low_confidence(
        self, calibration: Calibration, rows: Sequence[int] | None = None
    ) -> np.ndarray:
        """Done rows whose answer is close to the decision boundary."""
        idx = slice(None) if rows is None else np.asarray(rows, dtype=np.int64)
        done = self.state[idx] == DONE
        return done & self.kind.low_confidence(self.probs[idx], calibration)

    def cells(self, rows: Sequence[int], calibration: Calibration) -> tuple[Cell, ...]:
        """Cell values for many rows at once (one vectorised decision, not one per row)."""
        if not len(rows):
            return ()
        idx = np.asarray(rows, dtype=np.int64)
        states = self.state[idx]
        g = self.generation
        if self.text is not None:
            return tuple(
                Cell(_STATES[int(c)], value=self.text[r] if c == DONE else None,
                     error=self.errors.get(r) if c == ERROR else None, generation=g)
                for r, c in zip(rows, states, strict=True)
            )  # fmt: skip
        values, ps = self.decide_rows(rows, calibration)
        low = self.low_confidence(calibration, rows)
        out = []
        for i, (r, c) in enumerate(zip(rows, states, strict=True)):
            code = int(c)
            if code == DONE:
                out.append(
                    Cell(
                        CellState.DONE,
                        value=values[i],
                        p=ps[i],
                        generation=g,
                        low_confidence=bool(low[i]),
                    )
                )
            elif code == ERROR:
                out.append(Cell(CellState.ERROR, error=self.errors.get(r, "failed"), generation=g))
            else:
                out.append(Cell(_STATES[code], generation=g))
        return tuple(out)

    def decide_rows(
        self, rows: Sequence[int], calibration: Calibration
    ) -> tuple[list[str | float | bool | None], list[float | None]]:
        """Python values for a few rows (display, export of a slice)."""
        values, ps = self.decide(calibration, np.asarray(rows, dtype=np.int64))
        return [self._python_value(v) for v in values], [float(p) for p in ps]

    def _python_value(self, v: float) -> str | float | bool | None:
        return self.kind.python_value(v, self.candidates)  # type: ignore[return-value]


def with_results(
    frame: pl.DataFrame, result: ResultColumn, calibration: Calibration, source: bool = False
) -> pl.DataFrame:
    """DATA plus NAME (decision or value) and, for a judged column, NAME_p (probability
    of that answer) and with `source`, NAME_source (model, cache or skipped)."""
    return frame.with_columns(result.export_columns(calibration, source))
