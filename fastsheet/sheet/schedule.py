"""What a column's generation does next: calibrate, sweep the cache, then judge rows.

Pure bookkeeping, shared between the event loop (edits, visibility) and the worker
thread (taking batches) under one lock. The random order is seeded and fixed per
sheet, so the rows done so far are an unbiased sample of the column.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

REASON_BATCH = 4  # reasons written per task (each is a short generation)


@dataclass
class ColumnPlan:
    """The work left for one generation of one column."""

    name: str
    generation: int
    n: int
    ready: bool = False  # False while waiting for a column it depends on
    calibrated: bool = False
    cache_cursor: int = 0  # rows [0, cache_cursor) of the cache order were looked up
    cache_order: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    taken: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=bool))
    prioritised: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=bool))
    #: rows judged right after the visible ones (a learning rule's labelled rows)
    first: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    first_cursor: int = 0
    random_cursor: int = 0
    batches: int = 0
    left: int = 0
    work: object = None  # what the worker needs to do this column's tasks (its runner)

    def __post_init__(self) -> None:
        self.taken = np.zeros(self.n, dtype=bool)
        self.prioritised = np.zeros(self.n, dtype=bool)  # judged out of the random order
        self.left = self.n


@dataclass(frozen=True)
class Task:
    """One unit of work for the worker: look rows up in the cache, calibrate, or judge rows."""

    kind: str  # "calibrate" | "cache" | "judge" | "reason"
    column: str
    generation: int
    rows: tuple[int, ...] = ()
    work: object = field(default=None, compare=False)  # the column's runner, handed over


class Schedule:
    """Row order and batch sizes for every column; thread-safe."""

    def __init__(
        self,
        n_rows: int,
        seed: int = 0,
        first_batch: int = 2,
        max_batch: int = 16,
        cache_chunk: int = 4096,
    ) -> None:
        self.n = n_rows
        self.order = np.random.default_rng(seed).permutation(n_rows).astype(np.int64)
        self.first_batch = first_batch
        self.max_batch = max_batch
        self.cache_chunk = cache_chunk
        self.visible: np.ndarray = np.empty(0, dtype=np.int64)
        self.columns: dict[str, ColumnPlan] = {}
        self.priority: list[str] = []  # column names in dependency order
        #: rows whose reason was asked for, per column: (generation, rows, work); taken
        #: only when no column has anything else to do (the back of the queue)
        self.reasons: dict[str, tuple[int, list[int], object]] = {}
        self.lock = threading.Lock()
        self.wakeup = threading.Condition(self.lock)
        self.epoch = 0  # bumped whenever work is added
        self.closed = False

    # ----- called from the event loop -----------------------------------------------------

    def start(self, name: str, generation: int, work: object | None) -> None:
        """A new generation; `work` (the runner) once it can run, None while it waits."""
        with self.lock:
            plan = ColumnPlan(name, generation, self.n, ready=work is not None, work=work)
            # visible rows first, then the rest of the random order: each row once, or a
            # visible row's cache hit would count twice and a row would never be judged
            first = unique_in_order(self.visible)
            plan.cache_order = np.concatenate([first, self.order[~np.isin(self.order, first)]])
            self.columns[name] = plan
            self.reasons.pop(name, None)  # asked of the old generation's verdicts
            self.epoch += 1
            self.wakeup.notify_all()

    def set_ready(
        self,
        name: str,
        generation: int,
        work: object,
        skip: np.ndarray | None = None,
        first: np.ndarray | None = None,
    ) -> None:
        """The column can run now; rows in `skip` (a bool mask) are never judged, rows in
        `first` are looked up and judged right after the visible ones."""
        with self.lock:
            plan = self.columns.get(name)
            if plan and plan.generation == generation:
                if skip is not None:
                    plan.left -= int(np.count_nonzero(skip & ~plan.taken))
                    plan.taken |= skip
                    plan.cache_order = plan.cache_order[~skip[plan.cache_order]]
                if first is not None and len(first):
                    plan.first = unique_in_order(np.asarray(first, dtype=np.int64))
                    plan.cache_order = _moved_forward(
                        plan.cache_order, plan.first, len(unique_in_order(self.visible))
                    )
                plan.ready, plan.work = True, work
                self.epoch += 1
                self.wakeup.notify_all()

    def stop(self, name: str) -> None:
        with self.lock:
            self.columns.pop(name, None)
            self.reasons.pop(name, None)

    def ask_reasons(self, name: str, generation: int, rows: Sequence[int], work: object) -> None:
        """Queue reasons for `rows` of a column's generation, behind every other task;
        `work` writes them (it knows every queued row's verdict)."""
        with self.lock:
            entry = self.reasons.get(name)
            queued = entry[1] if entry is not None and entry[0] == generation else []
            queued += [int(r) for r in rows if int(r) not in set(queued)]
            self.reasons[name] = (generation, queued, work)
            self.epoch += 1
            self.wakeup.notify_all()

    def set_priority(self, names: Sequence[str]) -> None:
        with self.lock:
            self.priority = list(names)

    def set_visible(self, rows: Sequence[int]) -> None:
        with self.lock:
            self.visible = np.asarray(rows, dtype=np.int64)
            self.wakeup.notify_all()

    def mark_done(self, name: str, generation: int, rows: Sequence[int]) -> None:
        """Rows answered from the cache need no model work."""
        with self.lock:
            plan = self.columns.get(name)
            if plan and plan.generation == generation:
                idx = np.unique(np.asarray(rows, dtype=np.int64))
                plan.left -= int(np.count_nonzero(~plan.taken[idx]))
                plan.taken[idx] = True

    def release(self, name: str, generation: int, rows: Sequence[int]) -> None:
        """Give rows back (the batch failed to run)."""
        with self.lock:
            plan = self.columns.get(name)
            if plan and plan.generation == generation:
                idx = np.unique(np.asarray(rows, dtype=np.int64))
                plan.left += int(np.count_nonzero(plan.taken[idx]))
                plan.taken[idx] = False

    def busy(self) -> bool:
        """Work left for a column, or a column waiting for the ones it depends on."""
        with self.lock:
            return any(
                not p.ready or p.left > 0 or p.cache_cursor < len(p.cache_order) or not p.calibrated
                for p in self.columns.values()
            ) or any(rows for _, rows, _ in self.reasons.values())

    # ----- called from the worker -------------------------------------------------------

    def prioritised(self, name: str, generation: int) -> np.ndarray | None:
        """Rows judged out of the random order (visible first), or None."""
        with self.lock:
            plan = self.columns.get(name)
            if plan is None or plan.generation != generation:
                return None
            return plan.prioritised.copy()

    def is_current(self, name: str, generation: int) -> bool:
        with self.lock:
            plan = self.columns.get(name)
            return plan is not None and plan.generation == generation

    def next_task(self) -> Task | None:
        """The most urgent task, or None when there is nothing to do."""
        with self.lock:
            return self._next_task_locked()

    def wait_task(self, on_idle: Callable[[int], None]) -> Task | None:
        """The worker's loop: the next task, waiting while there is none (calling
        `on_idle(epoch)` each time it runs dry); None once the schedule is closed."""
        with self.wakeup:
            while not self.closed:
                task = self._next_task_locked()
                if task is not None:
                    return task
                on_idle(self.epoch)
                self.wakeup.wait()
        return None

    def close(self) -> None:
        """No more tasks: a waiting worker wakes up and gets None."""
        with self.wakeup:
            self.closed = True
            self.wakeup.notify_all()

    def _next_task_locked(self) -> Task | None:
        names = [n for n in self.priority if n in self.columns]
        names += [n for n in self.columns if n not in names]
        for name in names:
            plan = self.columns[name]
            if not plan.ready:
                continue
            if not plan.calibrated:
                plan.calibrated = True
                return Task("calibrate", name, plan.generation, work=plan.work)
            if plan.cache_cursor < len(plan.cache_order):
                start = plan.cache_cursor
                # the first lookup is small so visible cached cells show at once
                size = max(len(self.visible), 256) if start == 0 else self.cache_chunk
                plan.cache_cursor = min(len(plan.cache_order), start + size)
                rows = plan.cache_order[start : plan.cache_cursor]
                return Task("cache", name, plan.generation, tuple(int(r) for r in rows), plan.work)
            if plan.left > 0:
                rows = self._take(plan)
                if rows:
                    return Task("judge", name, plan.generation, tuple(rows), plan.work)
        for name, (generation, rows, work) in list(self.reasons.items()):
            plan = self.columns.get(name)
            if plan is None or plan.generation != generation:
                del self.reasons[name]
            elif rows:
                taken, rows[:] = rows[:REASON_BATCH], rows[REASON_BATCH:]
                return Task("reason", name, generation, tuple(taken), work)
        return None

    def _take(self, plan: ColumnPlan) -> list[int]:
        size = min(self.max_batch, self.first_batch * (2**plan.batches))
        picked: list[int] = []
        for row in self.visible:
            if not plan.taken[row]:
                picked.append(int(row))
                plan.taken[row] = True
                plan.prioritised[row] = True
                if len(picked) == size:
                    break
        while len(picked) < size and plan.first_cursor < len(plan.first):
            row = int(plan.first[plan.first_cursor])
            plan.first_cursor += 1
            if not plan.taken[row]:
                picked.append(row)
                plan.taken[row] = True
                plan.prioritised[row] = True
        while len(picked) < size and plan.random_cursor < self.n:
            row = int(self.order[plan.random_cursor])
            plan.random_cursor += 1
            if not plan.taken[row]:
                picked.append(row)
                plan.taken[row] = True
        plan.left -= len(picked)
        plan.batches += 1
        return picked


def unique_in_order(rows: np.ndarray) -> np.ndarray:
    """`rows` without repeats, in their first order."""
    _, first = np.unique(rows, return_index=True)
    return rows[np.sort(first)]


def _moved_forward(order: np.ndarray, rows: np.ndarray, after: int) -> np.ndarray:
    """`order` with those of `rows` it holds moved to just after its first `after` rows."""
    head, tail = order[:after], order[after:]
    moved = rows[np.isin(rows, tail)]
    return np.concatenate([head, moved, tail[~np.isin(tail, moved)]])
