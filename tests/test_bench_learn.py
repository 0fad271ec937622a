"""bench.learn's bookkeeping: a run over some tasks merges into the last run's figures."""

from __future__ import annotations

from bench.learn import merged


def test_a_partial_run_keeps_the_other_tasks_and_their_teaching_in_suite_order() -> None:
    previous = {
        "scored": 80,
        "pool": 160,
        "tasks": {
            "reviews": {"zero_shot": 0.9, "teaching": {"next": {"16": 0.8}}},
            "boolq": {"zero_shot": 0.6},
        },
    }
    results = {"reviews": {"zero_shot": 0.95}, "intents": {"zero_shot": 0.4}}
    out = merged(previous, results, 80, 160)
    assert list(out) == ["reviews", "boolq", "intents"]  # tasks.json's order
    assert out["reviews"] == {"zero_shot": 0.95, "teaching": {"next": {"16": 0.8}}}
    assert out["boolq"] == {"zero_shot": 0.6}


def test_a_run_on_other_sample_sizes_starts_afresh() -> None:
    previous = {"scored": 40, "pool": 80, "tasks": {"boolq": {"zero_shot": 0.6}}}
    assert merged(previous, {"reviews": {"zero_shot": 0.9}}, 80, 160) == {
        "reviews": {"zero_shot": 0.9}
    }
    assert merged(None, {"reviews": {"zero_shot": 0.9}}, 80, 160) == {"reviews": {"zero_shot": 0.9}}
