"""Test helpers shared by the real-model tests."""

from __future__ import annotations

from fastsheet.backends.base import Backend


class CountingBackend(Backend):
    """Wraps the real backend and counts the rows it judges; closing it leaves the model open."""

    def __init__(self, backend) -> None:
        self._backend = backend
        self.identity, self.name, self.framing = backend.identity, backend.name, backend.framing
        self.quantization, self.n_threads = backend.quantization, backend.n_threads
        self.path = getattr(backend, "path", None)
        self.keep_states = backend.keep_states
        self.rows = 0

    def judge(self, rule, records):
        self.rows += len(records)
        return self._backend.judge(rule, records)

    def batch_size(self) -> int:
        return self._backend.batch_size()

    def close(self) -> None:
        pass


def judged_until_stale(backend, rule, texts, responses: int, timeout: float = 120) -> object:
    """Judge `texts` on a thread and mark the work stale once `responses` answers came in;
    what the judging ended with (answers, or the Interrupted it raised)."""
    import threading

    from fastsheet.backends.base import Interrupted

    stale = threading.Event()
    backend.interrupt_when(stale.is_set)
    outcome: list[object] = []

    def judge() -> None:
        try:
            outcome.append(backend.judge(rule, texts))
        except Interrupted as exc:
            outcome.append(exc)

    worker = threading.Thread(target=judge)
    worker.start()
    while backend.responses < responses and worker.is_alive():
        stale.wait(0.01)
    stale.set()
    worker.join(timeout)
    backend.interrupt_when(None)
    return outcome[0]
