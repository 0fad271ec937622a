"""The result cache: hits, every invalidation case, and a corrupt file set aside."""

from pathlib import Path

import polars as pl
import pytest

from fastsheet import prompts
from fastsheet.backend import FakeBackend
from fastsheet.cache import ResultCache, cache_key, rule_key_prefix
from fastsheet.cells import Answer
from fastsheet.rules import Kind, Rule
from fastsheet.runner import RuleRunner, evaluate

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
    import fastsheet.cache as cache_module

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

    from fastsheet.cache import MIGRATIONS

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
