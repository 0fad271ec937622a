"""Free text from the llama.cpp backend: greedy decoding, many rows' sequences per batch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from fastsheet.data.cells import Answer


class TextGeneration:
    """LlamaBackend's text answers (a mixin: it uses the backend's batch and KV helpers)."""

    _ll: Any
    _vocab: Any
    _slots: int
    _mem: Any
    n_ctx: int
    _prefixes: Any

    def _generate(self, plan: Any, records: Sequence[str]) -> list[Answer]:
        prefix_seq, prefix_len = self._prefix_seq(plan)
        limit = plan.rule.max_tokens
        rows = [self.row_tokens(plan, r) for r in records]
        answers: list[Answer] = []
        start = 0
        while start < len(rows):
            group = self._group(rows, start, extra_seqs=0)
            kv_free = self.n_ctx - sum(n for _, n in self._prefixes.values())
            while len(group) > 1 and sum(len(r) + limit for r in group) > kv_free:
                group.pop()
            answers += self._generate_group(plan, prefix_seq, prefix_len, group, limit)
            start += len(group)
        return answers

    def _generate_group(
        self, plan: Any, prefix_seq: int, prefix_len: int, group: list[list[int]], limit: int
    ) -> list[Answer]:
        """Greedy decoding, one token per active sequence per batch."""
        seqs = [self._slots + k for k in range(len(group))]
        for seq in seqs:
            self._ll.llama_memory_seq_cp(self._mem, prefix_seq, seq, -1, -1)
        out: dict[int, list[int]] = {seq: [] for seq in seqs}
        try:
            pieces = [(row, prefix_len, seq, True) for row, seq in zip(group, seqs, strict=True)]
            first = self._decode_pieces(pieces)
            next_tok = {seq: int(np.argmax(x)) for seq, x in zip(seqs, first, strict=True)}
            pos = {seq: prefix_len + len(row) for seq, row in zip(seqs, group, strict=True)}
            active = list(seqs)
            while active:
                still = []
                for seq in active:
                    token = next_tok[seq]
                    if self._ll.llama_vocab_is_eog(self._vocab, token):
                        continue
                    out[seq].append(token)
                    if len(out[seq]) < limit:
                        still.append(seq)
                active = still
                if not active:
                    break
                logits = self._decode_pieces([([next_tok[s]], pos[s], s, True) for s in active])
                for seq, x in zip(active, logits, strict=True):
                    pos[seq] += 1
                    next_tok[seq] = int(np.argmax(x))
        finally:
            self._release(seqs)
        return [Answer(value=self._detokenize(out[s]), p=None) for s in seqs]

    def _detokenize(self, tokens: list[int]) -> str:
        return (
            b"".join(self._piece_bytes(t, special=False) for t in tokens)
            .decode("utf-8", errors="replace")
            .strip()
        )
