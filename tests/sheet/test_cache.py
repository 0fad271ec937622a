"""The result cache: hits, every invalidation case, and a corrupt file set aside."""

from pathlib import Path

import polars as pl
import pytest

from fastsheet.backends import prompts
from fastsheet.backends.base import FakeBackend
from fastsheet.data.cells import Answer
from fastsheet.kinds.rules import Kind, Rule
from fastsheet.sheet.cache import ResultCache, cache_key, rule_key_prefix
from fastsheet.sheet.runner import RuleRunner, evaluate

FRAME = pl.DataFrame({"text": [f"row {i}" for i in range(10)]})


def run(frame, rule, backend, cache):
    return evaluate(RuleRunner(frame, rule, backend, cache))


def model_calls(backend: FakeBackend) -> int:
    return sum(n for _, n in backend.calls)


@pytest.fixture
def cache(tmp_path: Path):
    c = ResultCache(tmp_path / "results.sqlite")
    yield c
    c.close()


def test_second_run_answers_from_cache(cache):
    backend = FakeBackend()
    first = run(FRAME, Rule("is it odd?"), backend, cache)
    assert model_calls(backend) == 10
    second = run(FRAME, Rule("is it odd?"), backend, cache)
    assert model_calls(backend) == 10
    assert (first.probs == second.probs).all()


def test_cache_persists_across_processes(tmp_path: Path):
    path = tmp_path / "c.sqlite"
    backend = FakeBackend()
    c1 = ResultCache(path)
    run(FRAME, Rule("r"), backend, c1)
    c1.close()
    c2 = ResultCache(path)
    run(FRAME, Rule("r"), backend, c2)
    assert model_calls(backend) == 10
    assert len(c2) == 10
    c2.close()


@pytest.mark.parametrize(
    "change",
    ["model", "rule_text", "rule_kind", "labels", "row"],
)
def test_any_change_misses_the_cache(cache, change):
    rule = Rule("which?", kind=Kind.LABEL, labels=("a", "b"))
    backend = FakeBackend(identity="model-A")
    run(FRAME, rule, backend, cache)
    frame = FRAME
    if change == "model":
        backend = FakeBackend(identity="model-B")
    elif change == "rule_text":
        rule = Rule("which one?", kind=Kind.LABEL, labels=("a", "b"))
    elif change == "rule_kind":
        rule = Rule("which?", kind=Kind.FLAG)
    elif change == "labels":
        rule = Rule("which?", kind=Kind.LABEL, labels=("a", "c"))
    else:
        frame = FRAME.with_columns(
            pl.when(pl.int_range(10) == 3)
            .then(pl.lit("edited"))
            .otherwise(pl.col("text"))
            .alias("text")
        )
    before = model_calls(backend) if change != "model" else 0
    run(frame, rule, backend, cache)
    expected = 1 if change == "row" else 10
    assert model_calls(backend) - before == expected


def test_template_version_is_part_of_the_key(monkeypatch):
    rule = Rule("r")
    a = cache_key(rule_key_prefix("m", rule), "x")
    monkeypatch.setattr(prompts, "TEMPLATE_VERSION", "999")
    import fastsheet.sheet.cache as cache_module

    monkeypatch.setattr(cache_module, "TEMPLATE_VERSION", "999")
    assert cache_key(rule_key_prefix("m", rule), "x") != a


def test_answers_round_trip_exactly(cache):
    items = [
        (b"k1", Answer(value=None, p=0.25, probs=(0.25, 0.75))),
        (b"k2", Answer(value="entity", p=0.5, probs=(0.5, 0.3, 0.2))),
        (b"k3", Answer(value=3.5, p=0.4, probs=(0.1, 0.4, 0.5))),
        (b"k4", Answer(value="a drafted reply", p=None)),
    ]
    cache.put_many(items)
    assert cache.get_many([k for k, _ in items] + [b"missing"]) == dict(items)


def test_corrupt_cache_file_is_set_aside(tmp_path: Path):
    path = tmp_path / "results.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    cache = ResultCache(path)
    assert cache.warning and "moved to" in cache.warning
    assert any(p.name.startswith("results.sqlite.corrupt-") for p in tmp_path.iterdir())
    backend = FakeBackend()
    run(FRAME, Rule("r"), backend, cache)
    assert len(cache) == 10
    cache.close()


def test_identical_records_are_judged_once(cache):
    frame = pl.DataFrame({"category": ["fuel", "coffee", "fuel", "fuel", "coffee", "gifts"] * 5})
    backend = FakeBackend(batch=4)
    result = run(frame, Rule("Is the {category} risky?"), backend, cache)
    assert model_calls(backend) == 3  # three distinct records, however many rows
    assert result.n_done == 30
    fuel = [i for i, c in enumerate(frame["category"]) if c == "fuel"]
    assert len({float(result.probs[i, 0]) for i in fuel}) == 1


class CountingCache(ResultCache):
    """Counts the keys looked up."""

    lookups = 0

    def get_many(self, keys):
        self.lookups += len(keys)
        return super().get_many(keys)


def test_a_new_rules_cache_sweep_skips_the_lookup(tmp_path: Path):
    cache = CountingCache(tmp_path / "c.sqlite")
    runner = RuleRunner(FRAME, Rule("is it odd?"), FakeBackend(), cache)
    runner.content_free_answers()  # probes are not rows: the rule still counts as new
    before = cache.lookups
    assert runner.cached(range(10)) == ([], [])
    assert cache.lookups == before  # no hashing, no SQLite query
    evaluate(runner)
    hit_rows, hits = runner.cached(range(10))
    assert hit_rows == list(range(10)) and len(hits) == 10
    cache.close()


def test_a_version_1_cache_is_migrated_and_keeps_its_answers(tmp_path: Path):
    import sqlite3

    from fastsheet.sheet.cache import MIGRATIONS

    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript(f"{MIGRATIONS[0]} PRAGMA user_version = 1;")
    db.close()
    backend = FakeBackend()
    prefix = rule_key_prefix(backend.identity, Rule("is it odd?"), backend.framing.value)
    key = cache_key(prefix, "text: row 0")
    old = ResultCache(path)
    old.put_many([(key, Answer(True, 0.9, (0.9, 0.1)))])
    assert old.get_many([key])[key].p == 0.9
    assert not old.has_rule(prefix)  # answers from before the index: found when judged
    old.close()


def _open_handles(path: Path) -> int:
    """How many of this process's file descriptors point at `path`."""
    fds = Path("/proc/self/fd")
    target = str(path.resolve())
    count = 0
    for fd in fds.iterdir():
        try:
            count += str(fd.resolve()) == target
        except OSError:
            continue
    return count


def test_each_thread_owns_its_connection_and_sees_the_others_writes(tmp_path: Path):
    import sqlite3
    import threading

    cache = ResultCache(tmp_path / "c.sqlite")
    prefix = rule_key_prefix("m", Rule("r"))
    keys = [cache_key(prefix, f"row {i}") for i in range(400)]
    errors: list[BaseException] = []

    def write(part: int) -> None:
        try:
            for i in range(part, 400, 4):  # four writers at once, one row per commit
                cache.put_many([(keys[i], Answer("yes", 0.5 + i / 1000, (0.5,)))])
            assert len(cache.get_many(keys[part::4])) == 100
            cache.close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    found = cache.get_many(keys)  # the main thread's own connection sees every write
    assert len(found) == 400 and found[keys[7]].p == pytest.approx(0.507)
    # no connection is shared: SQLite's same-thread check is on
    other: list[BaseException] = []
    db = cache._db
    t = threading.Thread(target=lambda: other.append(_fails(lambda: db.execute("SELECT 1"))))
    t.start()
    t.join()
    assert isinstance(other[0], sqlite3.ProgrammingError)
    cache.close()
    assert _open_handles(tmp_path / "c.sqlite") == 0


def _fails(fn) -> BaseException | None:
    try:
        fn()
    except BaseException as exc:
        return exc
    return None


def test_the_model_thread_closes_its_connection_when_the_sheet_closes(tmp_path: Path):
    import asyncio

    from fastsheet.sheet.engine import Evaluator

    path = tmp_path / "c.sqlite"
    cache = ResultCache(path)
    cache.close()  # the constructing thread's connection: only the worker's is left
    assert _open_handles(path) == 0

    async def main() -> None:
        ev = Evaluator(FRAME, FakeBackend(), cache=cache)
        ev.set_rule(Rule("is it odd?"))
        await ev.wait_idle()
        assert ev.summary("rule").done == len(FRAME)
        assert _open_handles(path) == 1  # the worker's own
        ev.close()

    asyncio.run(asyncio.wait_for(main(), 60))
    assert _open_handles(path) == 0
    # written by the worker, read here on a new connection
    rows, _ = RuleRunner(FRAME, Rule("is it odd?"), FakeBackend(), cache).cached(range(len(FRAME)))
    assert sorted(rows) == list(range(len(FRAME)))
    cache.close()


def test_answers_keep_their_state_through_the_cache_file(tmp_path):
    import numpy as np

    from fastsheet.data.cells import Answer
    from fastsheet.sheet.cache import ResultCache

    state = np.linspace(-3, 3, 384).astype(np.float32)
    cache = ResultCache(tmp_path / "c.sqlite")
    cache.put_many(
        [(b"k1", Answer(None, 0.7, (0.7, 0.3), state)), (b"k2", Answer(None, 0.1, (0.1, 0.9)))]
    )
    cache.close()
    again = ResultCache(tmp_path / "c.sqlite")
    found = again.get_many([b"k1", b"k2"])
    assert found[b"k2"].state is None
    kept = found[b"k1"].state
    assert kept.dtype == np.float16 and kept.shape == (384,)
    assert np.allclose(kept, state, atol=2e-3)  # float16: within its precision
    again.close()
