"""Throughput of the engine against the machine's floor and two naive paths, on the same rows.

- floor: llama.cpp's own prompt-processing rate on one 512-token sequence, divided by
  the mean tokens a row adds, is the best possible rows/s;
- naive (a): the whole prompt (prefix and row) decoded again for every row;
- naive (b): `Llama.create_chat_completion(..., max_tokens=1)` per row.
Everything is measured in one run, so the ratios hold on a noisy machine.
"""

from __future__ import annotations

import logging
import statistics
import time
from pathlib import Path

import numpy as np
import polars as pl

from fastsheet.backends.framing import RECORD, Framing
from fastsheet.backends.llama_backend import LlamaBackend
from fastsheet.backends.prompts import messages
from fastsheet.kinds.rules import Kind, Rule
from fastsheet.sheet.cache import NoCache, ResultCache
from fastsheet.sheet.runner import RuleRunner, evaluate

log = logging.getLogger("bench.speed")


def engine_rate(
    backend: LlamaBackend,
    frame: pl.DataFrame,
    rule: Rule,
    exclude: list[str],
    cache: ResultCache | None = None,
) -> dict:
    """Rows/s of the engine; `cache` must start empty (it only keeps the answers for later)."""
    runner = RuleRunner(frame, rule, backend, cache or NoCache(), exclude=exclude)
    texts = runner.records(range(frame.height))
    tokens = [backend.count_tokens(rule, t) for t in texts]
    backend.judge(rule, texts[:2])  # the prefix is decoded once per rule: not per row
    start = time.perf_counter()
    evaluate(runner)
    elapsed = time.perf_counter() - start
    return {
        "rows": frame.height,
        "rows_per_s": frame.height / elapsed,
        "ms_per_row": 1000 * elapsed / frame.height,
        "tokens_per_row": float(np.mean(tokens)),
        "prefix_tokens": backend.prefix_length(rule),
    }


def naive_whole_prompt(backend: LlamaBackend, texts: list[str], rule: Rule) -> float:
    """Rows/s when every row decodes its whole prompt, prefix included, alone."""
    plan = backend._plan(rule)
    seq = backend.n_seq_max - 1
    start = time.perf_counter()
    for text in texts:
        tokens = plan.prefix_tokens + backend.row_tokens(plan, text)
        (logits,) = backend._decode_pieces([(tokens, 0, seq, True)])
        backend._release([seq])
        backend._candidate_probs(plan, logits - logits.max(), {})
    return len(texts) / (time.perf_counter() - start)


def naive_chat_completion(
    model_path: Path, texts: list[str], rule: Rule, threads: int, framing: Framing
) -> float:
    """Rows/s through llama-cpp-python's high-level API, one row at a time, same prompt."""
    from llama_cpp import Llama

    llm = Llama(
        model_path=str(model_path), n_ctx=2048, n_threads=threads, n_batch=512, verbose=False
    )
    try:
        chat = messages(rule, framing)
        start = time.perf_counter()
        for text in texts:
            turns = [dict(m) for m in chat]
            turns[-1]["content"] = turns[-1]["content"].replace(RECORD, text)
            llm.create_chat_completion(messages=turns, max_tokens=1, temperature=0.0)
        return len(texts) / (time.perf_counter() - start)
    finally:
        llm.close()


def run(
    backend: LlamaBackend,
    reviews: pl.DataFrame,
    questions: pl.DataFrame,
    naive_rows: int,
    cache: ResultCache | None = None,
) -> dict:
    flag = Rule("The review is positive.")
    label = Rule(
        "What the question asks for.",
        kind=Kind.LABEL,
        labels=("abbreviation", "description", "entity", "location", "number", "person"),
    )
    floor_tps = statistics.median(backend.prompt_throughput() for _ in range(3))
    out: dict = {"floor_tokens_per_s": floor_tps}
    out["flag"] = engine_rate(backend, reviews, flag, ["gold"], cache)
    out["label"] = engine_rate(backend, questions, label, ["gold"], cache)
    for key in ("flag", "label"):
        r = out[key]
        r["floor_rows_per_s"] = floor_tps / r["tokens_per_row"]
        r["vs_floor"] = r["rows_per_s"] / r["floor_rows_per_s"]
    texts = RuleRunner(reviews, flag, backend, NoCache(), exclude=["gold"]).records(
        range(min(naive_rows, reviews.height))
    )
    same = engine_rate(backend, reviews.head(len(texts)), flag, ["gold"])["rows_per_s"]
    out["naive_rows"] = len(texts)
    out["engine_same_rows_per_s"] = same
    out["naive_whole_prompt_rows_per_s"] = naive_whole_prompt(backend, texts, flag)
    out["naive_chat_completion_rows_per_s"] = naive_chat_completion(
        backend.path, texts, flag, backend.n_threads, backend.framing
    )
    out["vs_naive_whole_prompt"] = same / out["naive_whole_prompt_rows_per_s"]
    out["vs_naive_chat_completion"] = same / out["naive_chat_completion_rows_per_s"]
    return out
