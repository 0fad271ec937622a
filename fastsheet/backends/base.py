"""The interface every model backend implements, and a fake for unit tests of logic."""

from __future__ import annotations

import hashlib
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from fastsheet.backends.framing import Framing
from fastsheet.backends.prompts import DEFAULT_FRAMING
from fastsheet.data.cells import Answer
from fastsheet.data.errors import Interrupted as Interrupted  # re-exported
from fastsheet.kinds import kind_of
from fastsheet.kinds.rules import Rule


class Backend(ABC):
    """Judges records against a rule. Not thread-safe: one thread owns a backend."""

    #: identifies the weights (the model file's sha256); part of every cache key
    identity: str = ""
    #: a human-readable model name
    name: str = ""
    #: the prompt's shape; part of every cache key
    framing: Framing = DEFAULT_FRAMING
    #: each flag, label or score answer carries the model's state where it answered
    #: (state_store.py), so the rule's labels can be learned (learned.py)
    keep_states: bool = False

    @abstractmethod
    def judge(self, rule: Rule, records: Sequence[str]) -> list[Answer]:
        """One answer per record, in order. Called repeatedly with batches of one rule."""

    def batch_size(self) -> int:
        """How many rows one call should take for throughput."""
        return 16

    def interrupt_when(self, stale: Callable[[], bool] | None) -> None:
        """`stale()` turns true once the caller no longer wants the answers in flight: a
        backend that can drop them (a server) then raises Interrupted."""
        self._stale = stale

    def ask_together(self, rules: Sequence[tuple[Rule, Sequence[str]]]) -> None:
        """The sheet's rule columns and the columns each one's record shows. A backend that
        can ask several questions of one record at once (System One) uses it."""

    def stale(self) -> bool:
        check = getattr(self, "_stale", None)
        return bool(check and check())

    #: it writes text under a grammar (`write_chat`), so it can compile rules
    can_write: bool = False

    def write_chat(
        self, turns: Sequence[dict[str, str]], text: str, grammar: str, max_tokens: int = 200
    ) -> str:
        """The model's next turn after `turns` (RECORD in the last one stands for `text`),
        every token allowed by `grammar`. Only a backend that `can_write` has it."""
        raise NotImplementedError(f"{self.name or type(self).__name__} does not write plans")

    def close(self) -> None:
        """Release the model."""


def answer_from_probs(rule: Rule, probs: Sequence[float]) -> Answer:
    """Turn candidate probabilities (normalised over the candidates) into an Answer."""
    return kind_of(rule).answer(rule, probs)


class FakeBackend(Backend):
    """Answers from a function of the record (or a stable hash of it): for logic tests only."""

    def __init__(
        self,
        scorer: Callable[[Rule, str], float] | None = None,
        identity: str = "fake-model",
        batch: int = 4,
        states: Callable[[str], Sequence[float]] | None = None,
    ) -> None:
        self.identity = identity
        self.name = "fake"
        self._scorer = scorer or _hash_score
        self._batch = batch
        self._states = states  # a record's "state", kept with each flag, label or score answer
        self.keep_states = states is not None
        self.calls: list[tuple[str, int]] = []

    def judge(self, rule: Rule, records: Sequence[str]) -> list[Answer]:
        self.calls.append((rule.text, len(records)))
        out = []
        for record in records:
            if kind_of(rule).stores_text:
                out.append(Answer(value=f"{rule.text}: {record[:20]}", p=None))
                continue
            x = self._scorer(rule, record)
            n = len(rule.candidates())
            if kind_of(rule).thresholded:
                probs = [x, 1.0 - x]
            else:
                weights = [math.exp(-8 * (x - i / max(n - 1, 1)) ** 2) for i in range(n)]
                total = sum(weights)
                probs = [w / total for w in weights]
            answer = answer_from_probs(rule, probs)
            if self._states is not None and kind_of(rule).labelable:
                answer = replace(answer, state=np.asarray(self._states(record), np.float16))
            out.append(answer)
        return out

    def batch_size(self) -> int:
        return self._batch


def _hash_score(rule: Rule, record: str) -> float:
    digest = hashlib.sha256((rule.text + "\0" + record).encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32
