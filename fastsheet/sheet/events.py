"""What the live engine tells its listeners (layer 6): values, never widgets."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from fastsheet.data.cells import Cell

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Update:
    """New cell values for some rows of one column's generation."""

    column: str
    generation: int
    rows: tuple[int, ...]
    cells: tuple[Cell, ...]
    source: str  # "cache" | "model" | "running" | "error"; "calibration": every done cell


@dataclass(frozen=True)
class ColumnEvent:
    """A change in a column's state: started, waiting, complete, error, removed, warning."""

    column: str
    generation: int
    kind: str
    message: str = ""


Event = Update | ColumnEvent


class Events:
    """Listeners of one sheet's events, and whether it has work left (all on the loop)."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[Event], None]] = []
        self._idle = asyncio.Event()
        self._idle.set()

    def subscribe(self, listener: Callable[[Event], None]) -> Callable[[], None]:
        """Call `listener` on the loop thread for every event; returns an unsubscribe."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    async def updates(self) -> AsyncIterator[Event]:
        """Every event from now on, as an async iterator."""
        queue: asyncio.Queue[Event] = asyncio.Queue()
        unsubscribe = self.subscribe(queue.put_nowait)
        try:
            while True:
                yield await queue.get()
        finally:
            unsubscribe()

    async def wait_idle(self, timeout: float | None = None) -> None:
        """Until no column has work left (waiting dependents included)."""
        await asyncio.wait_for(self._idle.wait(), timeout)

    def _emit(self, event: Event) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken listener must not stop evaluation
                log.exception("listener failed on %s", event)
