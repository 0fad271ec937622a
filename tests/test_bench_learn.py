"""bench.learn's bookkeeping: a run over some tasks merges into the last run's figures."""

from __future__ import annotations

from bench.learn import merged


def _picks(sixteen: list[int], thirty_two: list[int]) -> dict:
    return {"c": {"next": {"16": {"picked": sixteen}, "32": {"picked": thirty_two}}}}


def test_a_partial_run_keeps_the_other_tasks_and_their_teaching_in_suite_order() -> None:
    previous = {
        "scored": 80,
        "pool": 160,
        "tasks": {
            "reviews": {
                "zero_shot": 0.9,
                "configs": _picks([1, 2], [1, 2, 3]),
                "teaching": {"next": {"16": 0.8, "32": 0.7}},
                "as_taught": {"32": {"head": 0.9}},
            },
            "boolq": {"zero_shot": 0.6},
        },
    }
    # label next picked the same 16 labels again, but other ones at 32 (its head changed)
    again = {"zero_shot": 0.95, "configs": _picks([1, 2], [1, 2, 4])}
    results = {"reviews": again, "intents": {"zero_shot": 0.4}}
    out = merged(previous, results, 80, 160)
    assert list(out) == ["reviews", "boolq", "intents"]  # tasks.json's order
    assert out["reviews"]["teaching"] == {"next": {"16": 0.8}}  # only where the labels match
    assert "as_taught" not in out["reviews"]  # its examples came from other labels
    assert out["boolq"] == {"zero_shot": 0.6}


def test_a_run_on_other_sample_sizes_starts_afresh() -> None:
    previous = {"scored": 40, "pool": 80, "tasks": {"boolq": {"zero_shot": 0.6}}}
    assert merged(previous, {"reviews": {"zero_shot": 0.9}}, 80, 160) == {
        "reviews": {"zero_shot": 0.9}
    }
    assert merged(None, {"reviews": {"zero_shot": 0.9}}, 80, 160) == {"reviews": {"zero_shot": 0.9}}
