"""What every backend that asks a server shares: rows as concurrent requests over one
pooled connection, dropped within one poll once stale, answers kept when a request fails."""

from __future__ import annotations

import asyncio
import contextlib
from abc import abstractmethod
from collections.abc import Sequence

from fastsheet.backends.base import Backend, Interrupted
from fastsheet.backends.server import Connection, ServerError, ServerSettings
from fastsheet.data.cells import Answer
from fastsheet.kinds.rules import Rule

#: how often a batch in flight checks whether it is still wanted (seconds)
POLL_S = 0.05


class HttpBackend(Backend):
    """Answers each row with `_answer` (async), at most `settings.concurrency` at once."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.host = settings.host
        self.quantization = ""
        self.responses = 0  # answers received
        self.interrupted = 0  # batches dropped in flight
        self._conn = Connection(settings)

    def batch_size(self) -> int:
        return max(1, 2 * self.settings.concurrency)

    @abstractmethod
    async def _answer(self, rule: Rule, record: str) -> Answer:
        """One row's answer (ServerError when the server fails it)."""

    def judge(self, rule: Rule, records: Sequence[str]) -> list[Answer]:
        """Answers in order. Raises Interrupted once the work is stale (nothing returned),
        ServerError with the answers received so far when the server fails."""
        loop = self._conn.loop
        task = loop.create_task(self._judge_all(rule, list(records)))
        while not task.done():
            loop.run_until_complete(asyncio.wait({task}, timeout=POLL_S))
            if not task.done() and self.stale():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    loop.run_until_complete(task)
                self._conn.reset()  # no connection a cancelled request held is reused
                self.interrupted += 1
                raise Interrupted()
        return task.result()

    async def _judge_all(self, rule: Rule, records: list[str]) -> list[Answer]:
        gate = asyncio.Semaphore(max(1, self.settings.concurrency))
        answers: dict[int, Answer] = {}

        async def one(i: int, record: str) -> None:
            async with gate:
                answers[i] = await self._answer(rule, record)

        tasks = [asyncio.ensure_future(one(i, r)) for i, r in enumerate(records)]
        try:
            await asyncio.gather(*tasks)
        except ServerError as exc:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            exc.answered = dict(answers)
            raise
        except asyncio.CancelledError:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)  # each lets go of its connection
            raise
        return [answers[i] for i in range(len(records))]

    def sample(self, rule: Rule, record: str) -> Answer:
        """One answer (the Model dialog's connection test)."""
        return self.judge(rule, [record])[0]

    def close(self) -> None:
        self._conn.close()
