"""llama.cpp backend: the rule's prefix decoded once, rows in multi-sequence batches.

The prefix (instructions and rule) is decoded once into a slot sequence. Each row
copies it (`llama_memory_seq_cp`, cheap with a unified KV cache), adds its own
tokens as a separate sequence, and asks for logits only at its last token. Answers
are read from the candidate tokens' logits; candidates whose tokenizations share a
prefix are scored as whole token sequences through a token trie.
"""

from __future__ import annotations

import ctypes
import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from fastsheet.backends.base import Backend, answer_from_probs
from fastsheet.backends.candidate_trie import CandidateTrie, log_softmax
from fastsheet.backends.framing import Framing
from fastsheet.backends.gguf import read_info
from fastsheet.backends.llama_generate import TextGeneration
from fastsheet.backends.llama_runtime import default_threads, route_llama_log
from fastsheet.backends.llama_states import FINAL, StateTap, layer_name
from fastsheet.backends.llama_write import GrammarWriting
from fastsheet.backends.models import framing_for
from fastsheet.backends.prompts import Prompt, build_prompt
from fastsheet.backends.state_store import kept, kept_layer
from fastsheet.data.cells import Answer
from fastsheet.data.errors import ModelError
from fastsheet.data.fingerprint import file_identity
from fastsheet.kinds import kind_of
from fastsheet.kinds.rules import Rule

log = logging.getLogger(__name__)

TRUNCATED = " …[truncated]"


@dataclass
class _Plan:
    """Everything prepared once per rule."""

    rule: Rule
    prompt: Prompt
    prefix_tokens: list[int]
    suffix_head: str  # the suffix up to its first special token: tokenized with the record
    suffix_tail: list[int]  # the rest, from the first special token on
    head_len: int  # tokens of suffix_head alone
    trie: CandidateTrie


class LlamaBackend(TextGeneration, GrammarWriting, Backend):
    """Judges rows with a GGUF model through llama-cpp-python's low-level API."""

    def __init__(
        self,
        model_path: Path,
        n_threads: int | None = None,
        n_ctx: int = 8192,
        n_batch: int = 512,
        n_seq_max: int = 64,
        max_record_tokens: int = 384,
        prefix_slots: int = 4,
        framing: Framing | None = None,
        state_layers: Sequence[int] = (),
        keep_states: bool = False,
    ) -> None:
        import llama_cpp

        route_llama_log(llama_cpp)
        self._ll = llama_cpp
        info = read_info(model_path)  # raises ModelError for a file that is not a GGUF
        self.path = model_path
        self.name = info.name
        self.quantization = info.quantization
        self.identity = file_identity(model_path)
        self.framing = framing or framing_for(model_path)
        self.n_threads = n_threads or default_threads()
        self.n_batch = n_batch
        self.n_seq_max = n_seq_max
        self.max_record_tokens = max_record_tokens
        self._slots = prefix_slots
        llama_cpp.llama_backend_init()
        mparams = llama_cpp.llama_model_default_params()
        self._model = llama_cpp.llama_model_load_from_file(str(model_path).encode(), mparams)
        if not self._model:
            raise ModelError(
                f"llama.cpp could not load {model_path.name} ({info.architecture}, "
                f"{info.quantization}): the file may be damaged or of an unsupported architecture."
            )
        cparams = llama_cpp.llama_context_default_params()
        cparams.n_ctx = n_ctx
        cparams.n_batch = n_batch
        cparams.n_ubatch = n_batch
        cparams.n_seq_max = n_seq_max
        cparams.n_threads = self.n_threads
        cparams.n_threads_batch = self.n_threads
        cparams.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED
        cparams.kv_unified = True
        cparams.no_perf = True
        #: with `state_layers`, each row's answer keeps those layers' states (llama_states.py);
        #: with `keep_states`, the state_store layer's, projected as it is kept
        self.keep_states = keep_states
        if keep_states:
            state_layers = [kept_layer(llama_cpp.llama_model_n_layer(self._model))]
        self.tap = self._state_tap(state_layers) if state_layers else None
        if self.tap is not None:
            cparams.cb_eval = self.tap.callback
        self._ctx = llama_cpp.llama_init_from_model(self._model, cparams)
        if not self._ctx:
            llama_cpp.llama_model_free(self._model)
            raise ModelError(f"llama.cpp could not create a context for {model_path.name}.")
        self.n_ctx = llama_cpp.llama_n_ctx(self._ctx)
        self._vocab = llama_cpp.llama_model_get_vocab(self._model)
        self._n_vocab = llama_cpp.llama_vocab_n_tokens(self._vocab)
        self._mem = llama_cpp.llama_get_memory(self._ctx)
        self._batch = llama_cpp.llama_batch_init(n_batch, 0, 1)
        self._render = self._chat_renderer()
        self._plans: dict[str, _Plan] = {}
        self._prefixes: OrderedDict[str, tuple[int, int]] = OrderedDict()  # text -> (seq, n)
        log.info(
            "loaded %s (%s, %s), %d threads, chat template: %s",
            self.name, model_path.name, self.quantization, self.n_threads, self._render is not None,
        )  # fmt: skip

    # ----- set-up helpers -------------------------------------------------------------

    def _state_tap(self, layers: Sequence[int]) -> StateTap:
        n_layer = self._ll.llama_model_n_layer(self._model)
        names = [layer_name(layer, n_layer) for layer in layers]
        return StateTap(self._ll, names, outputs=(FINAL, f"l_out-{n_layer - 1}"))

    def _chat_renderer(self):  # -> RenderChat | None
        raw = self._ll.llama_model_chat_template(self._model, None)
        if not raw:
            return None
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        formatter = Jinja2ChatFormatter(
            template=raw.decode("utf-8"),
            eos_token=self._piece(self._ll.llama_vocab_eos(self._vocab)),
            bos_token=self._piece(self._ll.llama_vocab_bos(self._vocab)),
            add_generation_prompt=True,
        )
        return lambda messages: formatter(messages=messages).prompt

    def tokenize(
        self, text: str, add_special: bool = False, parse_special: bool = False
    ) -> list[int]:
        data = text.encode("utf-8")
        size = len(data) + 8
        buf = (self._ll.llama_token * size)()
        n = self._ll.llama_tokenize(
            self._vocab, data, len(data), buf, size, add_special, parse_special
        )
        if n < 0:
            buf = (self._ll.llama_token * -n)()
            n = self._ll.llama_tokenize(
                self._vocab, data, len(data), buf, -n, add_special, parse_special
            )
        return list(buf[:n])

    def _piece_bytes(self, token: int, special: bool = True) -> bytes:
        buf = ctypes.create_string_buffer(64)
        n = self._ll.llama_token_to_piece(self._vocab, token, buf, 64, 0, special)
        if n < 0:
            buf = ctypes.create_string_buffer(-n)
            n = self._ll.llama_token_to_piece(self._vocab, token, buf, -n, 0, special)
        return buf.raw[:n]

    def _piece(self, token: int) -> str:
        return self._piece_bytes(token).decode("utf-8", errors="replace") if token >= 0 else ""

    def _plan(self, rule: Rule) -> _Plan:
        key = self.framing.value + "\0" + rule.identity()
        plan = self._plans.get(key)
        if plan is None:
            prompt = build_prompt(rule, self._render, self.framing)
            trie = CandidateTrie(rule.candidates(), prompt.answer_lead, self.tokenize)
            head = self._before_special(prompt.suffix)
            plan = _Plan(
                rule=rule,
                prompt=prompt,
                prefix_tokens=self.tokenize(prompt.prefix, add_special=True, parse_special=True),
                suffix_head=head,
                suffix_tail=self.tokenize(prompt.suffix[len(head) :], parse_special=True),
                head_len=len(self.tokenize(head)),
                trie=trie,
            )
            if len(self._plans) > 64:
                self._plans.clear()
            self._plans[key] = plan
        return plan

    def _before_special(self, text: str) -> str:
        """`text` up to its first special (control) token, e.g. a chat template's
        end-of-turn: plain text before it is tokenized together with the record."""
        end = 0
        for token in self.tokenize(text, parse_special=True):
            piece = self._piece(token)
            if self._ll.llama_vocab_is_control(self._vocab, token):
                found = text.find(piece, end)
                return text[:found] if found >= 0 else text[:end]
            end += len(piece)
        return text

    def row_tokens(self, plan: _Plan, record: str) -> list[int]:
        """The row's tokens after the prefix: the record and the suffix's plain text
        tokenized together, as a server tokenizes the whole prompt (a record never gets
        special tokens parsed), then the suffix's special part."""
        text = plan.prompt.record_text(record)
        tokens = self.tokenize(text + plan.suffix_head)
        if len(tokens) > self.max_record_tokens + plan.head_len:
            tokens = self.tokenize(text)[: self.max_record_tokens]
            tokens += self.tokenize(TRUNCATED + plan.suffix_head)
        return tokens + plan.suffix_tail

    def count_tokens(self, rule: Rule, record: str) -> int:
        return len(self.row_tokens(self._plan(rule), record))

    def prefix_length(self, rule: Rule) -> int:
        return len(self._plan(rule).prefix_tokens)

    # ----- KV management ----------------------------------------------------------------

    def _prefix_seq(self, plan: _Plan) -> tuple[int, int]:
        """The slot sequence holding this prompt's prefix, decoding it if needed."""
        return self._kept_prefix(plan.prompt.prefix, plan.prefix_tokens)

    def _kept_prefix(self, text: str, tokens: Sequence[int]) -> tuple[int, int]:
        """The slot sequence holding `tokens` (the tokens of `text`), decoding them once;
        the least recently used prefix makes room."""
        if text in self._prefixes:
            self._prefixes.move_to_end(text)
            return self._prefixes[text]
        if len(tokens) + self.max_record_tokens + 64 > self.n_ctx // 2:
            raise ModelError(
                "The rule (with its examples) is too long for the model's context: shorten it, "
                "or teach it from shorter rows."
            )
        # prefixes share at most half the KV cache, so a batch always has room for rows
        while self._prefixes and (
            len(self._prefixes) >= self._slots
            or sum(n for _, n in self._prefixes.values()) + len(tokens) > self.n_ctx // 2
        ):
            _, (old_seq, _) = self._prefixes.popitem(last=False)
            self._ll.llama_memory_seq_rm(self._mem, old_seq, -1, -1)
        used = {seq for seq, _ in self._prefixes.values()}
        seq = next(s for s in range(self._slots) if s not in used)
        for start in range(0, len(tokens), self.n_batch):
            chunk = tokens[start : start + self.n_batch]
            self._fill([(chunk, start, seq, False)])
            self._decode()
        self._prefixes[text] = (seq, len(tokens))
        return seq, len(tokens)

    def _fill(self, pieces: Sequence[tuple[Sequence[int], int, int, bool]]) -> list[int]:
        """Put (tokens, first position, seq, want logits at last) pieces into the batch.

        Returns the batch index of each piece's last token."""
        b = self._batch
        i = 0
        last: list[int] = []
        for tokens, pos, seq, want in pieces:
            for j, token in enumerate(tokens):
                b.token[i] = token
                b.pos[i] = pos + j
                b.n_seq_id[i] = 1
                b.seq_id[i][0] = seq
                b.logits[i] = 0
                i += 1
            if want:
                b.logits[i - 1] = 1
            last.append(i - 1)
        b.n_tokens = i
        return last

    def _decode(self) -> None:
        rc = self._ll.llama_decode(self._ctx, self._batch)
        if rc != 0:
            raise ModelError(f"llama_decode failed (code {rc}): the batch did not fit the context.")

    def _release(self, seqs: Sequence[int]) -> None:
        for seq in seqs:
            self._ll.llama_memory_seq_rm(self._mem, seq, -1, -1)

    # ----- judging ----------------------------------------------------------------------

    def batch_size(self) -> int:
        return 16

    def judge(self, rule: Rule, records: Sequence[str]) -> list[Answer]:
        plan = self._plan(rule)
        if kind_of(rule).stores_text:
            return self._generate(plan, records)
        prefix_seq, prefix_len = self._prefix_seq(plan)
        rows = [self.row_tokens(plan, r) for r in records]
        answers: list[Answer] = []
        start = 0
        while start < len(rows):
            group = self._group(rows, start, extra_seqs=len(plan.trie.deep))
            answers += self._score_group(plan, prefix_seq, prefix_len, group)
            start += len(group)
        return answers

    def _group(self, rows: list[list[int]], start: int, extra_seqs: int) -> list[list[int]]:
        """As many rows from `start` as fit one decode (tokens, sequences and context)."""
        seqs_free = self.n_seq_max - self._slots
        budget = self.n_batch
        kv_free = self.n_ctx - sum(n for _, n in self._prefixes.values())
        group: list[list[int]] = []
        for row in rows[start:]:
            need_seqs = (len(group) + 1) * (1 + extra_seqs)
            if group and (len(row) > budget or need_seqs > seqs_free or len(row) + 8 > kv_free):
                break
            group.append(row)
            budget -= len(row)
            kv_free -= len(row) + 8 * extra_seqs
        return group

    def _decode_pieces(
        self, pieces: list[tuple[list[int], int, int, bool]], states: list | None = None
    ) -> list[np.ndarray]:
        """Decode pieces in as few batches as fit; return a copy of the logits each wanted
        (and append the tapped state of each to `states`, if given).

        A piece longer than the batch is split; only its last part asks for logits."""
        queue: list[tuple[list[int], int, int, bool]] = []
        for tokens, pos, seq, want in pieces:
            for off in range(0, len(tokens), self.n_batch):
                part = tokens[off : off + self.n_batch]
                queue.append((part, pos + off, seq, want and off + self.n_batch >= len(tokens)))
        out: list[np.ndarray] = []
        i = 0
        while i < len(queue):
            chunk, used = [], 0
            while i < len(queue) and used + len(queue[i][0]) <= self.n_batch:
                used += len(queue[i][0])
                chunk.append(queue[i])
                i += 1
            ends = self._fill(chunk)
            wanted = [e for p, e in zip(chunk, ends, strict=True) if p[3]]
            if states is not None and self.tap is not None:
                self.tap.arm(wanted)
            self._decode()
            out += [self._logits(e).copy() for e in wanted]
            if states is not None and self.tap is not None:
                states += list(self.tap.take())
        return out

    def _logits(self, index: int) -> np.ndarray:
        ptr = self._ll.llama_get_logits_ith(self._ctx, index)
        return np.ctypeslib.as_array(ptr, shape=(self._n_vocab,))

    def _score_group(
        self, plan: _Plan, prefix_seq: int, prefix_len: int, group: list[list[int]]
    ) -> list[Answer]:
        stride = 1 + len(plan.trie.deep)
        seqs = [self._slots + k * stride for k in range(len(group))]
        for seq in seqs:
            self._ll.llama_memory_seq_cp(self._mem, prefix_seq, seq, -1, -1)
        try:
            pieces = [(row, prefix_len, seq, True) for row, seq in zip(group, seqs, strict=True)]
            states: list[np.ndarray] | None = [] if self.tap is not None else None
            row_lps = [log_softmax(x) for x in self._decode_pieces(pieces, states)]
            deep = self._deep_logprobs(plan, group, seqs, prefix_len) if plan.trie.deep else None
        finally:
            self._release([s + k for s in seqs for k in range(stride)])
        answers = [
            answer_from_probs(plan.rule, plan.trie.probs(lp, deep[i] if deep else {}))
            for i, lp in enumerate(row_lps)
        ]
        if states is None:
            return answers
        if self.keep_states:
            states = [kept(x) for x in states]
        return [replace(a, state=x) for a, x in zip(answers, states, strict=True)]

    def _deep_logprobs(
        self, plan: _Plan, group: list[list[int]], seqs: list[int], prefix_len: int
    ) -> list[dict[tuple[int, ...], np.ndarray]]:
        """Logits after each deeper branching node's path, one extra sequence per node."""
        pieces = []
        for row, seq in zip(group, seqs, strict=True):
            for k, node in enumerate(plan.trie.deep, start=1):
                self._ll.llama_memory_seq_cp(self._mem, seq, seq + k, -1, -1)
                pieces.append((list(node.path), prefix_len + len(row), seq + k, True))
        lps = self._decode_pieces(pieces)
        per_row = len(plan.trie.deep)
        out: list[dict[tuple[int, ...], np.ndarray]] = [{} for _ in group]
        for flat, logits in enumerate(lps):
            out[flat // per_row][plan.trie.deep[flat % per_row].path] = log_softmax(logits)
        return out

    def prompt_throughput(self, n_tokens: int = 512, repeats: int = 3) -> float:
        """llama.cpp's own prompt-processing rate (tokens/s): one sequence, one full batch.

        The machine's floor for judging rows; the median of `repeats` decodes."""
        import statistics
        import time

        seq = self.n_seq_max - 1
        text = "The quick brown fox jumps over the lazy dog while the band plays on. " * 64
        tokens = (self.tokenize(text) * 4)[: min(n_tokens, self.n_batch)]
        rates = []
        for _ in range(repeats):
            self._fill([(tokens, 0, seq, True)])
            start = time.perf_counter()
            self._decode()
            self._ll.llama_synchronize(self._ctx)
            rates.append(len(tokens) / (time.perf_counter() - start))
            self._release([seq])
        return statistics.median(rates)

    def close(self) -> None:
        if getattr(self, "_ctx", None):
            self._ll.llama_batch_free(self._batch)
            self._ll.llama_free(self._ctx)
            self._ll.llama_model_free(self._model)
            self._ctx = None
