"""Evaluate one rule over a frame's rows: the cache first, then the backend in batches."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from fastsheet.backends.base import Backend
from fastsheet.backends.prompts import content_free_records
from fastsheet.data.cells import Answer
from fastsheet.data.errors import BackendFailure
from fastsheet.data.table import record_columns, records
from fastsheet.kinds import kind_of
from fastsheet.kinds.results import CACHE, ResultColumn
from fastsheet.kinds.rules import Rule
from fastsheet.learning.labels import decode, teaching_rows
from fastsheet.learning.teach import (
    MIN_LABELS,
    Lesson,
    examples_for,
    held_out_calibration,
    held_out_rows,
    teach,
)
from fastsheet.sheet.cache import NoCache, ResultCache, cache_key, rule_key_prefix
from fastsheet.stats.calibrate import (
    Calibration,
    choose,
    unlabeled_flag,
)

log = logging.getLogger(__name__)


@dataclass
class Progress:
    done: int
    total: int
    computed: int  # rows the model judged (not from the cache)
    elapsed: float

    @property
    def rows_per_s(self) -> float:
        return self.computed / self.elapsed if self.elapsed > 0 else 0.0


class RuleRunner:
    """Judges rows of `frame` against `rule` with `backend`, through `cache`."""

    def __init__(
        self,
        frame: pl.DataFrame,
        rule: Rule,
        backend: Backend,
        cache: ResultCache | None = None,
        exclude: Iterable[str] = (),
    ) -> None:
        rule.check_columns(frame.columns)
        self.frame = frame
        self.rule = rule
        self.backend = backend
        self.cache = cache if cache is not None else NoCache()
        self.exclude = list(exclude)
        self.columns = record_columns(frame.columns, rule.references(), exclude)
        #: labeled records and their answers, for the cross-fitted threshold (teach.py)
        self.teaching: tuple[tuple[str, ...], tuple[object, ...]] = ((), ())
        self._prefix = rule_key_prefix(backend.identity, rule, backend.framing.value)
        #: a backend that keeps states: a row's cached answer without one is judged again
        self._needs_state = backend.keep_states and kind_of(rule).labelable

    def records(self, rows: Sequence[int]) -> list[str]:
        return records(self.frame, self.columns, rows)

    def cached(self, rows: Sequence[int]) -> tuple[list[int], list[Answer]]:
        """The rows already in the cache, and their answers (none, without a lookup,
        for a rule never evaluated before)."""
        if not self.cache.has_rule(self._prefix):
            return [], []
        keys = [cache_key(self._prefix, r) for r in self.records(rows)]
        found = self._usable(self.cache.get_many(keys))
        hit_rows = [row for row, key in zip(rows, keys, strict=True) if key in found]
        return hit_rows, [found[key] for key in keys if key in found]

    def compute(self, rows: Sequence[int]) -> list[Answer]:
        """Answers for rows: each distinct record judged once, through the cache.

        Rows with the same record text (a rule naming a few columns) are judged once,
        and a record judged in an earlier batch is read back from the cache."""
        return self.judge_texts(self.records(rows), rows_of_rule=True)

    def judge_with(self, rule: Rule, texts: Sequence[str]) -> list[Answer]:
        """Answers for record texts under another version of this rule (e.g. other examples)."""
        return self.judge_texts(texts, rule)

    def judge_texts(
        self, texts: Sequence[str], rule: Rule | None = None, rows_of_rule: bool = False
    ) -> list[Answer]:
        """Answers for record texts, through the cache; each distinct text judged once.

        `rows_of_rule`: the texts are rows of this runner's rule (not content-free probes
        or another version's examples), so the cache learns the rule has rows."""
        rule = rule or self.rule
        prefix = (
            self._prefix
            if rule is self.rule
            else rule_key_prefix(self.backend.identity, rule, self.backend.framing.value)
        )
        keys = [cache_key(prefix, t) for t in texts]
        found = self.cache.get_many(keys)
        if rows_of_rule:
            found = self._usable(found)
        missing: list[int] = []  # the first row of each distinct record not yet known
        pending: set[bytes] = set()
        for i, key in enumerate(keys):
            if key not in found and key not in pending:
                pending.add(key)
                missing.append(i)
        if missing:
            try:
                fresh = self.backend.judge(rule, [texts[i] for i in missing])
            except BackendFailure as exc:
                self._keep_partial(exc, keys, missing, found, prefix if rows_of_rule else None)
                raise
            self.cache.put_many(
                ((keys[i], a) for i, a in zip(missing, fresh, strict=True)),
                rule=prefix if rows_of_rule else None,
            )
            found.update((keys[i], a) for i, a in zip(missing, fresh, strict=True))
        return [found[k] for k in keys]

    def _usable(self, found: dict[bytes, Answer]) -> dict[bytes, Answer]:
        """Cached answers this runner can use: with their states, where it keeps them."""
        if not self._needs_state:
            return found
        return {k: a for k, a in found.items() if a.state is not None}

    def _keep_partial(
        self,
        exc: BackendFailure,
        keys: list[bytes],
        missing: list[int],
        found: dict[bytes, Answer],
        rule: bytes | None,
    ) -> None:
        """Cache the answers a failed batch did get, and report them (with the cached
        ones) by position in `keys`, so no answer already received is lost."""
        got = {keys[missing[i]]: a for i, a in exc.answered.items() if isinstance(a, Answer)}
        self.cache.put_many(got.items(), rule=rule)
        found.update(got)
        exc.answered = {i: found[k] for i, k in enumerate(keys) if k in found}

    def content_free_answers(self) -> list[Answer]:
        return self.judge_texts(content_free_records(self.columns))

    # ----- what the model thread asks of a column's work (sheet.model_thread.Work) -----

    def content_free(self) -> list[Answer] | None:
        """Answers on content-free records, for a kind calibrated on them (else None)."""
        return self.content_free_answers() if kind_of(self.rule).probes_content_free else None

    def lesson(self) -> Calibration | None:
        """The threshold the rule's labelled rows teach it (teach.py), if it is taught."""
        records, labels = self.teaching
        if not records or not kind_of(self.rule).thresholded:
            return None
        return teach(self.rule, records, labels, self.judge_with).calibration

    def interrupt_when(self, stale: Callable[[], bool] | None) -> None:
        """Let the backend drop a batch in flight once `stale()` says it is stale."""
        self.backend.interrupt_when(stale)


def content_free_calibration(runner: RuleRunner) -> Calibration | None:
    """p(yes) on content-free records (flag), or their label priors (label)."""
    answers = runner.content_free()
    return kind_of(runner.rule).content_free(answers) if answers is not None else None


def default_calibration(
    runner: RuleRunner,
    result: ResultColumn | None = None,
    lesson: Lesson | None = None,
    labels: np.ndarray | None = None,
) -> Calibration:
    """The threshold fitted on labels when taught, else the unlabeled policy.

    The same policy as the live engine: with many labels, the fit on the labeled rows
    beyond the teaching ones (teach.held_out_calibration); else the lesson's; else
    calibrate.unlabeled_flag, measured on the dev suite (README, "Accuracy")."""
    flag = kind_of(runner.rule).thresholded

    def held_out() -> Calibration | None:
        if labels is None or result is None or lesson is None or not flag:
            return None
        held = held_out_rows(labels, example_rows(runner, labels, lesson.rule))
        return (
            held_out_calibration(result.p_yes()[held], labels[held]) if held is not None else None
        )

    def unlabeled() -> Calibration:
        p = result.p_yes()[result.done_mask()] if result is not None else np.empty(0)
        return unlabeled_flag(p, content_free_calibration(runner))

    return choose(
        flag,
        None,
        lesson.calibration if lesson is not None else None,
        held_out,
        unlabeled,
        lambda: content_free_calibration(runner),
    )


def teaching_input(
    runner: RuleRunner, labels: np.ndarray | None, first: Sequence[int] = ()
) -> tuple[tuple[str, ...], tuple[object, ...]]:
    """The records and answers the rule is taught from (empty: too few labels); `first`:
    the rows marked, in the order they were (labels.teaching_rows)."""
    rows = teaching_rows(labels, first=first) if labels is not None else []
    if len(rows) < MIN_LABELS:
        return (), ()
    answers = tuple(decode(runner.rule, labels[r]) for r in rows)
    return tuple(runner.records(rows)), answers


def example_rows(
    runner: RuleRunner, labels: np.ndarray, taught: Rule, first: Sequence[int] = ()
) -> list[int]:
    """The labeled rows whose records the taught rule shows as examples."""
    shown = {record for record, _ in taught.examples}
    rows = teaching_rows(labels, first=first)
    return [r for r, text in zip(rows, runner.records(rows), strict=True) if text in shown]


def taught_runner(
    runner: RuleRunner, labels: np.ndarray | None
) -> tuple[RuleRunner, Lesson | None]:
    """The runner for the rule taught from its labeled rows (NaN: unlabeled), if any."""
    records, answers = teaching_input(runner, labels)
    if not records:
        return runner, None
    lesson = teach(runner.rule, records, answers, runner.judge_with)
    taught = RuleRunner(runner.frame, lesson.rule, runner.backend, runner.cache, runner.exclude)
    return taught, lesson


def with_examples(runner: RuleRunner, labels: np.ndarray, first: Sequence[int] = ()) -> RuleRunner:
    """The runner for the rule shown the examples its labels teach (teach.examples_for),
    carrying them for the cross-fitted threshold; `runner` itself with too few labels."""
    records, answers = teaching_input(runner, labels, first)
    if not records:
        return runner
    taught = replace(runner.rule, examples=examples_for(runner.rule, records, answers))
    out = RuleRunner(runner.frame, taught, runner.backend, runner.cache, runner.exclude)
    out.teaching = (records, answers)
    return out


def evaluate(
    runner: RuleRunner,
    chunk: int = 2048,
    on_progress: Callable[[Progress], None] | None = None,
    skip: np.ndarray | None = None,
) -> ResultColumn:
    """Judge every row (but those in `skip`, a bool mask: they are skipped), in order;
    answers come from the cache where they can."""
    n = runner.frame.height
    result = ResultColumn(runner.rule, n)
    if skip is not None:
        result.set_skipped(skip)
    start, computed, done = time.perf_counter(), 0, result.skipped
    batch = max(1, runner.backend.batch_size())

    def report() -> None:
        if on_progress:
            on_progress(Progress(done, n, computed, time.perf_counter() - start))

    for first in range(0, n, chunk):
        rows = list(range(first, min(n, first + chunk)))
        if skip is not None:
            rows = [r for r in rows if not skip[r]]
        hit_rows, hits = runner.cached(rows)
        if hit_rows:
            result.set_answers(hit_rows, hits, CACHE)
            done += len(hit_rows)
            report()
        hit = set(hit_rows)
        todo = [r for r in rows if r not in hit]
        for b in range(0, len(todo), batch):
            part = todo[b : b + batch]
            result.set_answers(part, runner.compute(part))
            computed += len(part)
            done += len(part)
            report()
    return result
