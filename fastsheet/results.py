"""A rule column's results as arrays: state, candidate probabilities, text.

No Python object per row: states are a uint8 array, probabilities a float64
matrix (one column per candidate). Decisions are derived with a Calibration.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from fastsheet.calibrate import Calibration
from fastsheet.cells import Answer, Cell, CellState
from fastsheet.rules import Kind, Rule

STATE_CODES = {CellState.PENDING: 0, CellState.RUNNING: 1, CellState.DONE: 2, CellState.ERROR: 3}
_STATES = {code: state for state, code in STATE_CODES.items()}
PENDING, RUNNING, DONE, ERROR = 0, 1, 2, 3
LOW_MARGIN = 0.2  # flag: |logit(p) - logit(threshold)| below this is low confidence
LOW_TOP_P = 0.5  # label / score: top probability below this is low confidence


class ResultColumn:
    """Results of one rule over n rows."""

    def __init__(self, rule: Rule, n: int, generation: int = 0) -> None:
        self.rule = rule
        self.generation = generation
        self.candidates = rule.candidates()
        self.state = np.zeros(n, dtype=np.uint8)
        self.probs = np.full((n, max(1, len(self.candidates))), np.nan, dtype=np.float64)
        self.text: list[str | None] | None = [None] * n if rule.kind is Kind.TEXT else None
        self.errors: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self.state)

    def set_answers(self, rows: Sequence[int], answers: Sequence[Answer]) -> None:
        idx = np.asarray(rows, dtype=np.int64)
        if self.text is not None:
            for row, answer in zip(rows, answers, strict=True):
                self.text[row] = "" if answer.value is None else str(answer.value)
        else:
            self.probs[idx] = np.asarray([a.probs for a in answers], dtype=np.float64)
        self.state[idx] = DONE
        for row in rows:
            self.errors.pop(row, None)

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
        kind = self.rule.kind
        if kind is Kind.FLAG:
            text = np.where(values == 1.0, "yes", "no")
        elif kind is Kind.LABEL:
            names = np.asarray(self.candidates, dtype=object)
            text = names[np.where(missing, 0, values).astype(np.int64)]
        else:
            text = np.char.mod("%.2f", np.where(missing, 0.0, values))
        return pl.Series(self.rule.name, np.where(missing, "", text).tolist(), dtype=pl.String)

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
        n = len(probs)
        kind = self.rule.kind
        if kind is Kind.FLAG:
            p_yes = probs[:, 0]
            decision = p_yes >= calibration.threshold
            p = np.where(decision, p_yes, 1.0 - p_yes)
            return np.where(np.isnan(p_yes), np.nan, decision.astype(np.float64)), p
        if kind is Kind.LABEL:
            if calibration.weights is not None:
                probs = probs * np.asarray(calibration.weights)
                probs = probs / probs.sum(axis=1, keepdims=True)
            index = np.nan_to_num(probs, nan=-1.0).argmax(axis=1)
            value = np.where(np.isnan(probs[:, 0]), np.nan, index.astype(np.float64))
            return value, probs[np.arange(n), index]
        if kind is Kind.SCORE:
            values = np.asarray([float(c) for c in self.candidates])
            return probs @ values, probs.max(axis=1)
        return np.zeros(n), np.full(n, np.nan)

    def cell(self, row: int, calibration: Calibration) -> Cell:
        """The value of one cell, for display."""
        return self.cells([row], calibration)[0]

    def low_confidence(
        self, calibration: Calibration, rows: Sequence[int] | None = None
    ) -> np.ndarray:
        """Done rows whose answer is close to the decision boundary."""
        idx = slice(None) if rows is None else np.asarray(rows, dtype=np.int64)
        done = self.state[idx] == DONE
        if self.text is not None:
            return np.zeros(done.shape, dtype=bool)
        if self.rule.kind is Kind.FLAG:
            p = np.clip(self.probs[idx, 0], 1e-6, 1 - 1e-6)
            t = min(max(calibration.threshold, 1e-6), 1 - 1e-6)
            margin = np.abs(np.log(p / (1 - p)) - np.log(t / (1 - t)))
            return done & (margin < LOW_MARGIN)
        probs = self.probs[idx]
        if calibration.weights is not None:
            probs = probs * np.asarray(calibration.weights)
            probs = probs / probs.sum(axis=1, keepdims=True)
        return done & (np.nan_to_num(probs.max(axis=1), nan=1.0) < LOW_TOP_P)

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
        if np.isnan(v):
            return None
        if self.rule.kind is Kind.FLAG:
            return bool(v)
        if self.rule.kind is Kind.LABEL:
            return self.candidates[int(v)]
        return float(v)


def with_results(
    frame: pl.DataFrame, result: ResultColumn, calibration: Calibration
) -> pl.DataFrame:
    """DATA plus NAME (decision or value) and NAME_p (probability of that answer)."""
    name = result.rule.name
    values, p = result.decide(calibration)
    kind = result.rule.kind
    if kind is Kind.FLAG:
        column = pl.Series(name, values, dtype=pl.Float64).cast(pl.Boolean)
    elif kind is Kind.LABEL:
        labels = pl.Series(list(result.candidates), dtype=pl.String)
        index = pl.Series(values).fill_nan(None).cast(pl.Int64)
        column = labels.gather(index).alias(name)
    elif kind is Kind.SCORE:
        column = pl.Series(name, values, dtype=pl.Float64).fill_nan(None)
    else:
        column = pl.Series(name, result.text, dtype=pl.String)
    p_column = pl.Series(f"{name}_p", p, dtype=pl.Float64).fill_nan(None)
    return frame.with_columns(column, p_column)
