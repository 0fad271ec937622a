"""Test helpers shared by the real-model tests."""

from __future__ import annotations

from fastsheet.backend import Backend


class CountingBackend(Backend):
    """Wraps the real backend and counts the rows it judges; closing it leaves the model open."""

    def __init__(self, backend) -> None:
        self._backend = backend
        self.identity, self.name, self.framing = backend.identity, backend.name, backend.framing
        self.quantization, self.n_threads = backend.quantization, backend.n_threads
        self.path = getattr(backend, "path", None)
        self.rows = 0

    def judge(self, rule, records):
        self.rows += len(records)
        return self._backend.judge(rule, records)

    def batch_size(self) -> int:
        return self._backend.batch_size()

    def close(self) -> None:
        pass
