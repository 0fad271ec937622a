"""The llama.cpp backend with the real default model: every kind, batching, tries."""

import numpy as np
import polars as pl
import pytest

from fastsheet.calibrate import Mode
from fastsheet.metrics import auc
from fastsheet.rules import Kind, Rule
from fastsheet.runner import RuleRunner, default_calibration, evaluate
from fastsheet.summary import gold_flags
from fastsheet.table import records

QUESTIONS = [
    ("Who wrote Hamlet?", "person"),
    ("How many legs does a spider have?", "number"),
    ("Where is the Eiffel Tower?", "location"),
    ("Who was the first president of the United States?", "person"),
    ("What year did World War II end?", "number"),
    ("In which country is Kyoto?", "location"),
]


def test_flag_ranks_reviews_and_content_free_threshold_decides(backend, reviews: pl.DataFrame):
    assert reviews.height == 12
    rule = Rule("The review is positive.")
    runner = RuleRunner(reviews, rule, backend, exclude=["gold"])
    result = evaluate(runner)
    gold = gold_flags(reviews["gold"])
    assert auc(result.p_yes(), gold.astype(bool)) >= 0.9
    calibration = default_calibration(runner)
    assert calibration.mode is Mode.CONTENT_FREE
    decisions, _ = result.decide(calibration)
    assert np.mean(decisions == gold) >= 0.75


def test_label_reads_whole_labels(backend):
    frame = pl.DataFrame({"question": [q for q, _ in QUESTIONS]})
    rule = Rule(
        "What the question asks for.", kind=Kind.LABEL, labels=("person", "number", "location")
    )
    answers = backend.judge(rule, records(frame, ["question"]))
    correct = [a.value == label for a, (_, label) in zip(answers, QUESTIONS, strict=True)]
    assert sum(correct) >= 5, [a.value for a in answers]  # uncalibrated 0.5B model
    for a in answers:
        assert abs(sum(a.probs) - 1) < 1e-6 and a.p == max(a.probs)


def test_labels_sharing_a_first_token_are_scored_past_it(backend, reviews: pl.DataFrame):
    rule = Rule(
        "How does the reviewer feel?", kind=Kind.LABEL, labels=("very happy", "very unhappy")
    )
    plan = backend._plan(rule)
    first = {node.path[0] for node in plan.root.children.values()}
    assert len(plan.root.children) >= 1 and plan.deep_nodes, "labels should share a first token"
    assert all(len(node.path) >= 1 for node in plan.deep_nodes) and first
    answers = backend.judge(rule, records(reviews, ["review"]))
    p_happy = np.array([a.probs[0] for a in answers])
    # looking only at the shared first token would give exactly 0.5 everywhere
    assert np.ptp(p_happy) > 0.2
    assert auc(p_happy, gold_flags(reviews["gold"]).astype(bool)) >= 0.85


def test_two_digit_scores_use_the_token_trie(backend, reviews: pl.DataFrame):
    rule = Rule("How positive is the review?", kind=Kind.SCORE, scale=(1, 10))
    assert backend._plan(rule).deep_nodes, "'1' and '10' share the token '1'"
    answers = backend.judge(rule, records(reviews, ["review"]))
    values = np.array([a.value for a in answers])
    assert ((values >= 1) & (values <= 10)).all()
    gold = gold_flags(reviews["gold"]).astype(bool)
    assert values[gold].mean() > values[~gold].mean() + 1


def test_text_is_greedy_and_bounded(backend):
    rule = Rule("Extract the city named in the record.", kind=Kind.TEXT, max_tokens=8)
    frame = pl.DataFrame(
        {
            "note": [
                "Flight booked to Paris next Monday.",
                "Our office in Berlin is closed.",
                "Meet me in Tokyo.",
            ]
        }
    )
    answers = backend.judge(rule, records(frame, ["note"]))
    texts = [a.value for a in answers]
    assert [t for t in texts if t] == texts
    for city, text in zip(["Paris", "Berlin", "Tokyo"], texts, strict=True):
        assert city in text
    assert all(len(backend.tokenize(t)) <= 8 for t in texts)
    # greedy decoding is deterministic, and batching does not change it
    assert [a.value for a in backend.judge(rule, records(frame, ["note"])[1:2])] == texts[1:2]


def test_batching_does_not_change_answers(backend, reviews: pl.DataFrame):
    rule = Rule("The review mentions food.")
    texts = records(reviews, ["review"])
    together = [a.p for a in backend.judge(rule, texts)]
    alone = [backend.judge(rule, [t])[0].p for t in texts[:4]]
    assert np.allclose(together[:4], alone, atol=0.02)


def test_a_huge_cell_is_capped_not_overflowing(backend):
    rule = Rule("The review is positive.")
    huge = "review: " + "great food " * 5000
    plan = backend._plan(rule)
    assert len(backend.row_tokens(plan, huge)) <= backend.max_record_tokens + 16
    (answer,) = backend.judge(rule, [huge])
    assert 0 <= answer.p <= 1


def test_rules_alternate_without_mixing_prefixes(backend):
    a, b = Rule("The review is positive."), Rule("The review is negative.")
    text = ["review: Absolutely loved it, best meal ever."]
    pa, pb = backend.judge(a, text)[0].p, backend.judge(b, text)[0].p
    assert pa > pb
    assert backend.judge(a, text)[0].p == pytest.approx(pa, abs=0.02)
