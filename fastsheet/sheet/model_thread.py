"""The model thread (layer 3): the one thread that owns the backend.

It takes immutable `Task`s from the `Schedule`, runs each with the work it carries, and
posts immutable outcomes back to the event loop. It knows nothing of columns,
calibration or summaries: what a task means is the work's business, what an outcome
changes is the coordinator's.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from fastsheet.data.cells import Answer
from fastsheet.data.errors import BackendFailure, FastsheetError, Interrupted
from fastsheet.sheet.priority import lower_this_thread
from fastsheet.sheet.schedule import Schedule, Task

log = logging.getLogger(__name__)


class Work(Protocol):
    """What a column hands the thread with each task (a rule runner)."""

    def cached(self, rows: Sequence[int]) -> tuple[list[int], list[Answer]]: ...

    def compute(self, rows: Sequence[int]) -> list[Answer]: ...

    def content_free(self) -> list[Answer] | None: ...

    def lesson(self) -> object | None: ...

    def interrupt_when(self, stale: Callable[[], bool] | None) -> None: ...


@dataclass(frozen=True)
class TaskOutcome:
    """What became of a task (each subclass says what)."""

    task: Task


class Running(TaskOutcome):
    """A judge task was taken: its rows are being judged."""


class Dropped(TaskOutcome):
    """A task went stale in flight: nothing of it applies."""


@dataclass(frozen=True)
class Answered(TaskOutcome):
    """Answers for some rows of a task, from the cache or the model."""

    rows: tuple[int, ...]
    answers: tuple[Answer, ...]
    source: str  # "cache" | "model"
    elapsed: float = 0.0


@dataclass(frozen=True)
class Probed(TaskOutcome):
    """Answers on content-free records (what the rule says of no row at all)."""

    answers: tuple[Answer, ...]


@dataclass(frozen=True)
class Taught(TaskOutcome):
    """What the rule's labels taught it (the work's lesson)."""

    lesson: object


@dataclass(frozen=True)
class Reasoned(TaskOutcome):
    """Reasons written for the task's rows (the work's values, in row order)."""

    reasons: tuple[object, ...]


@dataclass(frozen=True)
class Failed(TaskOutcome):
    """A task failed; `answered` are its positions that got an answer before it did."""

    message: str
    fatal: bool = False
    answered: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Idle:
    """The thread found no work at schedule epoch `epoch`."""

    epoch: int


Outcome = Running | Answered | Probed | Taught | Reasoned | Dropped | Failed | Idle


class ModelThread:
    """Runs tasks on one thread, below the window's priority (priority.py)."""

    def __init__(
        self,
        schedule: Schedule,
        post: Callable[[Outcome], None],
        on_exit: Callable[[], None] = lambda: None,
    ) -> None:
        self.schedule = schedule
        self.closing = False
        self._post = post
        self._on_exit = on_exit  # the thread's own resources (its cache connection)
        self.thread = threading.Thread(target=self._work, name="fastsheet-model", daemon=True)
        self.thread.start()

    def stale(self, task: Task) -> bool:
        return self.closing or not self.schedule.is_current(task.column, task.generation)

    def close(self, timeout: float) -> bool:
        """Stop after the task in flight; False if it did not stop within `timeout`."""
        self.closing = True
        self.schedule.close()
        self.thread.join(timeout=timeout)
        return not self.thread.is_alive()

    def _work(self) -> None:
        lower_this_thread()
        try:
            while True:
                task = self.schedule.wait_task(lambda epoch: self._post(Idle(epoch)))
                if task is None:
                    return
                self._guarded(task)
        finally:
            self._on_exit()

    def _guarded(self, task: Task) -> None:
        try:
            self._run(task)
        except Interrupted:  # the work went stale while in flight: nothing to apply
            log.debug("dropped a stale %s task of %s", task.kind, task.column)
            self._post(Dropped(task))
        except Exception as exc:  # report, never die
            log.warning("task %s of %s failed: %s", task.kind, task.column, exc)
            known = isinstance(exc, FastsheetError)
            if not known:
                log.exception("task %s failed", task.kind)
            message = str(exc) if known else f"{type(exc).__name__}: {exc}"
            answered = exc.answered if isinstance(exc, BackendFailure) else {}
            if answered and task.kind == "judge":
                rows = tuple(task.rows[i] for i in answered)
                self._post(Answered(task, rows, tuple(answered.values()), "model"))
            fatal = isinstance(exc, BackendFailure) and exc.fatal
            self._post(Failed(task, message, fatal, frozenset(answered)))

    def _run(self, task: Task) -> None:
        work: Work | None = task.work  # type: ignore[assignment]
        if work is None or self.stale(task):
            return
        if task.kind == "cache":
            rows, answers = work.cached(task.rows)
            self.schedule.mark_done(task.column, task.generation, rows)
            self._post(Answered(task, tuple(rows), tuple(answers), "cache"))
        elif task.kind == "reason":
            self._post(Reasoned(task, tuple(work.reasons(task.rows))))  # type: ignore[attr-defined]
        elif task.kind == "calibrate":
            probe = work.content_free()
            if probe is not None:
                self._post(Probed(task, tuple(probe)))
            lesson = work.lesson()
            if lesson is not None:
                self._post(Taught(task, lesson))
        else:
            self._post(Running(task))
            start = time.perf_counter()
            work.interrupt_when(lambda: self.stale(task))
            try:
                answers = work.compute(task.rows)
            finally:
                work.interrupt_when(None)
            elapsed = time.perf_counter() - start
            self._post(Answered(task, tuple(task.rows), tuple(answers), "model", elapsed))
