"""The llama.cpp backend with the real default model: every kind, batching, tries."""

import numpy as np
import polars as pl
import pytest

from fastsheet.data.table import records
from fastsheet.kinds.rules import Kind, Rule
from fastsheet.sheet.runner import RuleRunner, default_calibration, evaluate
from fastsheet.sheet.summary import gold_flags
from fastsheet.stats.calibrate import Mode
from fastsheet.stats.metrics import auc

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
    first = {node.path[0] for node in plan.trie.root.children.values()}
    assert len(plan.trie.root.children) >= 1 and plan.trie.deep, "labels should share a first token"
    assert all(len(node.path) >= 1 for node in plan.trie.deep) and first
    answers = backend.judge(rule, records(reviews, ["review"]))
    p_happy = np.array([a.probs[0] for a in answers])
    # looking only at the shared first token would give exactly 0.5 everywhere
    assert np.ptp(p_happy) > 0.2
    assert auc(p_happy, gold_flags(reviews["gold"]).astype(bool)) >= 0.85


def test_two_digit_scores_use_the_token_trie(backend, reviews: pl.DataFrame):
    rule = Rule("How positive is the review?", kind=Kind.SCORE, scale=(1, 10))
    assert backend._plan(rule).trie.deep, "'1' and '10' share the token '1'"
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


def test_states_come_from_the_decode_that_answers(model_path, reviews: pl.DataFrame):
    """With state layers, each answer keeps the model's state where it answered: the same
    answers as without, one model-wide state per layer, the same for the same record."""
    from fastsheet.backends.llama_backend import LlamaBackend
    from fastsheet.stats.head import Reducer, answer_features, fit_head

    rule = Rule("The review is positive.")
    texts = records(reviews, ["review"])
    untapped = LlamaBackend(model_path)  # the same calls on a fresh model, without the tap
    try:
        plain = untapped.judge(rule, texts)
    finally:
        untapped.close()
    tapped = LlamaBackend(model_path, state_layers=(12, -1))
    try:
        answers = tapped.judge(rule, texts) + tapped.judge(rule, texts[:3])
        width = tapped._ll.llama_model_n_embd(tapped._model)
    finally:
        tapped.close()
    assert plain[0].state is None
    np.testing.assert_allclose([a.p for a in answers[:12]], [a.p for a in plain], atol=1e-6)
    states = np.stack([a.state for a in answers])
    assert states.shape == (15, 2 * width) and np.isfinite(states).all()

    def cosine(a: np.ndarray, b: np.ndarray) -> float:
        return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))

    # the same record read again elsewhere in a batch: the same state, up to batching noise
    assert all(cosine(states[12 + i], states[i]) > 0.995 for i in range(3))
    assert cosine(states[0], states[1]) < cosine(states[0], states[12])
    # the states carry the answer: a head on them alone separates the reviews
    gold = gold_flags(reviews["gold"])
    z = Reducer.fit(states[:12], 4).transform(states[:12])
    head = fit_head(np.hstack([answer_features(np.full(12, 0.5)), z]), gold, 0.1, 1)
    assert np.mean(head.predict(np.hstack([answer_features(np.full(12, 0.5)), z])) == gold) >= 0.9


def test_kept_states_reproduce_the_head_after_a_restart(
    model_path, reviews: pl.DataFrame, tmp_path
):
    """States kept beside the answers (projected, float16) come back from the cache file in
    a new process's runner, and a head fitted on them gives the same answers as on the
    states the model produced."""
    from fastsheet.backends.llama_backend import LlamaBackend
    from fastsheet.backends.state_store import KEPT_DIMS
    from fastsheet.sheet.cache import ResultCache
    from fastsheet.sheet.runner import RuleRunner
    from fastsheet.stats.head import Reducer, answer_features, fit_head

    rule = Rule("The review is positive.")
    frame = reviews.select("review")
    rows = list(range(frame.height))
    backend = LlamaBackend(model_path, keep_states=True)
    cache = ResultCache(tmp_path / "results.sqlite")
    try:
        fresh = RuleRunner(frame, rule, backend, cache).compute(rows)
    finally:
        cache.close()
    restarted = ResultCache(tmp_path / "results.sqlite")
    try:
        hits, cached = RuleRunner(frame, rule, backend, restarted).cached(rows)
    finally:
        restarted.close()
        backend.close()
    assert hits == rows
    before = np.stack([a.state for a in fresh]).astype(np.float64)
    after = np.stack([a.state for a in cached]).astype(np.float64)
    assert before.shape == (len(rows), KEPT_DIMS) and np.isfinite(after).all()
    np.testing.assert_array_equal(before, after)  # float16 both ways: stored exactly
    gold = gold_flags(reviews["gold"])

    def predictions(states: np.ndarray, answers) -> np.ndarray:
        p = np.asarray([a.p for a in answers])
        x = np.hstack([answer_features(p), Reducer.fit(states, 4).transform(states)])
        return fit_head(x, gold, 1.0, 1).predict(x)

    np.testing.assert_array_equal(predictions(before, fresh), predictions(after, cached))
