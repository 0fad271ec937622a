"""Cell state as a value: pending, running, done (value and probability) or error."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class CellState(enum.Enum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    ERROR = "error"
    SKIPPED = "skipped"  # outside the column's condition: never put to the model


@dataclass(frozen=True, slots=True)
class Answer:
    """What the model said about one row, before any decision threshold.

    `value` is the label, the expected score or the generated text; `p` is the
    probability of that answer (for a flag, the probability of "yes"), or None
    for text. `probs` holds the probability of every candidate, if any.
    """

    value: str | float | None
    p: float | None
    probs: tuple[float, ...] = ()
    #: the model's state where it answered (llama_states.py), when the backend keeps it
    state: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Cell:
    """One result cell of a rule column."""

    state: CellState
    value: str | float | bool | None = None
    p: float | None = None
    error: str | None = None
    generation: int = 0
    low_confidence: bool = False  # the answer sits close to the decision boundary

    @staticmethod
    def pending(generation: int = 0) -> Cell:
        return Cell(CellState.PENDING, generation=generation)

    @staticmethod
    def failed(message: str, generation: int = 0) -> Cell:
        return Cell(CellState.ERROR, error=message, generation=generation)
