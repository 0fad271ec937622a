"""Text written under a grammar by the llama.cpp backend: greedy, one sequence, after a
prefix kept in the KV cache (the compiler's instructions and examples, decoded once and
shared by every edit of every rule over the same sheet)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastsheet.backends.framing import RECORD
from fastsheet.data.errors import ModelError


class GrammarWriting:
    """LlamaBackend's `write` (a mixin: it uses the backend's batch and KV helpers)."""

    _ll: Any
    _ctx: Any
    _vocab: Any
    _mem: Any
    _slots: int
    n_batch: int
    n_ctx: int

    _render: Any

    can_write = True

    def write_chat(
        self, turns: Sequence[dict[str, str]], text: str, grammar: str, max_tokens: int = 200
    ) -> str:
        """The model's next turn after `turns`, whose last turn holds RECORD where `text`
        goes: everything before it is kept in the KV cache for the next call."""
        if self._render is not None:
            rendered = self._render(list(turns))
        else:  # a base model: the turns as plain text
            rendered = "\n\n".join(t["content"] for t in turns) + "\n"
        prefix, suffix = rendered.split(RECORD)
        return self.write(prefix, text + suffix, grammar, max_tokens)

    def write(self, prefix: str, prompt: str, grammar: str, max_tokens: int = 200) -> str:
        """Greedy text after `prefix` + `prompt` (special tokens parsed in both), every token
        allowed by `grammar` (GBNF, rule `root`); ends where the grammar does."""
        ll = self._ll
        tokens = self.tokenize(prefix, add_special=True, parse_special=True)  # type: ignore[attr-defined]
        seq_prefix, at = self._kept_prefix(prefix, tokens)  # type: ignore[attr-defined]
        row = self.tokenize(prompt, parse_special=True)  # type: ignore[attr-defined]
        if at + len(row) + max_tokens >= self.n_ctx // 2:
            raise ModelError("The rule and the sheet's columns are too long to plan.")
        seq = self._slots  # the first sequence after the prefix slots
        sampler = ll.llama_sampler_chain_init(ll.llama_sampler_chain_default_params())
        constraint = ll.llama_sampler_init_grammar(self._vocab, grammar.encode(), b"root")
        if not constraint:
            ll.llama_sampler_free(sampler)
            raise ModelError("The plan's grammar did not load.")
        ll.llama_sampler_chain_add(sampler, constraint)
        ll.llama_sampler_chain_add(sampler, ll.llama_sampler_init_greedy())
        ll.llama_memory_seq_cp(self._mem, seq_prefix, seq, -1, -1)
        out: list[int] = []
        try:
            index = 0
            for start in range(0, len(row), self.n_batch):
                chunk = row[start : start + self.n_batch]
                last = start + self.n_batch >= len(row)
                index = self._fill([(chunk, at, seq, last)])[0]  # type: ignore[attr-defined]
                self._decode()  # type: ignore[attr-defined]
                at += len(chunk)
            for _ in range(max_tokens):
                token = ll.llama_sampler_sample(sampler, self._ctx, index)
                if ll.llama_vocab_is_eog(self._vocab, token):
                    break
                out.append(token)
                index = self._fill([([token], at, seq, True)])[0]  # type: ignore[attr-defined]
                self._decode()  # type: ignore[attr-defined]
                at += 1
        finally:
            ll.llama_sampler_free(sampler)
            self._release([seq])  # type: ignore[attr-defined]
        return self._detokenize(out)  # type: ignore[attr-defined]
