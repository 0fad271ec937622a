"""The learned head and "label next", on synthetic features (no model)."""

from __future__ import annotations

import time

import numpy as np

from fastsheet.learning.label_next import at_random, label_next, uncertainty
from fastsheet.stats.head import (
    Reducer,
    answer_features,
    balanced_accuracy,
    choose_head,
    fit_head,
    folds,
)


def synthetic(n: int = 600, d: int = 64, seed: int = 0, answer_noise: float = 3.0):
    """Rows whose truth is a direction in the states that the answer only half sees."""
    rng = np.random.default_rng(seed)
    truth = rng.random(n) < 0.3
    direction = rng.normal(size=d)
    states = rng.normal(size=(n, d)) + np.outer(np.where(truth, 1.5, -1.5), direction) / 4
    logit = np.where(truth, 0.6, -0.6) + rng.normal(scale=answer_noise, size=n)
    p = 1 / (1 + np.exp(-logit))
    return states, p, truth.astype(float)


def test_the_reducer_keeps_the_main_directions_scaled():
    states, _, _ = synthetic()
    reducer = Reducer.fit(states, 8)
    z = reducer.transform(states)
    assert z.shape == (600, 8)
    np.testing.assert_allclose(z.std(axis=0), 1.0, atol=1e-6)
    few = Reducer.fit(states[:5], 8)  # fewer rows than directions: at most n - 1
    assert few.components.shape[0] == 4


def test_the_head_learns_what_the_answer_misses():
    states, p, y = synthetic()
    x = np.hstack([answer_features(p), Reducer.fit(states, 16).transform(states)])
    train, test = np.arange(0, 64), np.arange(200, 600)
    head = fit_head(x[train], y[train], penalty=1.0, n_answer=1)
    answer_only = fit_head(x[train][:, :1], y[train], penalty=1e6, n_answer=1)
    learned = balanced_accuracy(head.predict(x[test]), y[test])
    alone = balanced_accuracy(answer_only.predict(x[test][:, :1]), y[test])
    assert learned > alone + 0.1
    assert learned > 0.85


def test_an_anchored_fit_starts_from_the_models_own_threshold_and_labels_move_it():
    rng = np.random.default_rng(2)
    p = rng.random(400)
    x = answer_features(p)
    bias = -float(np.log(0.3 / 0.7))  # the model's own decision: yes above 0.3
    # two labels of a rare yes, both far above the threshold: alone they would set it
    rows = np.r_[np.flatnonzero(p > 0.95)[:2], np.flatnonzero(p < 0.3)[:10]]
    y = (p[rows] > 0.3).astype(float)
    held = fit_head(x[rows], y, 1.0, 1, anchor=30.0, bias=bias).predict(x)
    assert np.mean(held == (p > 0.3)) > 0.95  # still the model's own decision
    free = fit_head(x[rows], y, 1.0, 1, anchor=0.0, bias=bias).predict(x)
    assert np.mean(free == (p > 0.3)) < 0.9  # unanchored, two labels moved it far
    many = rng.random(300)
    moved = fit_head(answer_features(many), (many > 0.7).astype(float), 1.0, 1, 3.0, bias)
    assert balanced_accuracy(moved.predict(answer_features(many)), many > 0.7) > 0.95


def test_with_no_state_features_the_head_is_the_answer_recalibrated():
    rng = np.random.default_rng(1)
    p = rng.random(300)
    y = (p > 0.7).astype(float)  # the labels say: yes above 0.7, not 0.5
    head = fit_head(answer_features(p), y, penalty=1.0, n_answer=1)
    pred = head.predict(answer_features(p))
    assert balanced_accuracy(pred, y) > 0.95
    assert np.all(pred[p > 0.8] == 1.0) and np.all(pred[p < 0.6] == 0.0)


def test_cross_validation_keeps_the_head_only_where_it_wins():
    states, p, y = synthetic()
    x = np.hstack([answer_features(p), Reducer.fit(states, 16).transform(states)])
    rows = np.arange(64)
    useful = choose_head(x[rows], y[rows], n_answer=1)
    assert useful.penalty is not None and useful.head_score > useful.answer_score
    # states that carry nothing: the answer alone is kept
    noise = np.random.default_rng(3).normal(size=x[:, 1:].shape)
    p_good = np.clip(y * 0.6 + 0.2 + np.random.default_rng(4).normal(scale=0.05, size=len(y)), 0, 1)
    x_noise = np.hstack([answer_features(p_good), noise])
    useless = choose_head(x_noise[rows], y[rows], n_answer=1)
    assert useless.penalty is None
    assert choose_head(x[:3], np.array([1.0, 0.0, 0.0]), 1).penalty is None  # too few to fold


def test_a_multinomial_head_for_label_rules():
    rng = np.random.default_rng(5)
    n, d = 400, 20
    y = rng.integers(0, 3, n).astype(float)
    centres = rng.normal(size=(3, d)) * 2
    states = centres[y.astype(int)] + rng.normal(size=(n, d))
    probs = np.full((n, 3), 1 / 3)  # the model has no idea
    x = np.hstack([answer_features(probs), Reducer.fit(states, 8).transform(states)])
    head = fit_head(x[:90], y[:90], penalty=1.0, n_answer=3)
    assert list(head.classes) == [0.0, 1.0, 2.0]
    assert balanced_accuracy(head.predict(x[90:]), y[90:]) > 0.9
    np.testing.assert_allclose(head.proba(x[:5]).sum(axis=1), 1.0)


def test_folds_deal_every_class_to_every_fold():
    y = np.array([1.0] * 6 + [0.0] * 10)
    f = folds(y, 3)
    for k in range(3):
        assert set(y[f == k]) == {0.0, 1.0}


def test_refitting_ten_thousand_rows_is_fast():
    states, p, y = synthetic(n=10_000, d=256)
    start = time.perf_counter()
    z = Reducer.fit(states, 16).transform(states)
    x = np.hstack([answer_features(p), z])
    choice = choose_head(x[:64], y[:64], 1)
    head = fit_head(x[:64], y[:64], choice.penalty or 1e6, 1)
    head.proba(x)
    assert time.perf_counter() - start < 5  # generous: docs/learning.md reports the measure


def test_uncertainty_is_highest_at_the_threshold():
    u = uncertainty(np.array([0.3, 0.29, 0.0, 1.0, 0.65]), threshold=0.3)
    assert u[0] == 1.0 and u[2] == 0.0 and u[3] == 0.0
    assert u[1] > u[4]
    labels = uncertainty(np.array([[0.5, 0.5, 0.0], [0.9, 0.05, 0.05]]))
    assert labels[0] == 1.0 and labels[1] < 0.2


def test_label_next_asks_unsure_rows_spread_over_the_data():
    rng = np.random.default_rng(0)
    # two clusters of equally unsure rows; one of them already has labels nearby
    z = np.vstack([rng.normal(0, 0.1, (50, 2)), rng.normal(5, 0.1, (50, 2)), [[0, 0], [5, 5]]])
    p = np.full(102, 0.5)
    p[100:] = 0.9
    labelled = np.zeros(102, dtype=bool)
    labelled[100] = True  # a label in the first cluster
    asked = label_next(p, z, labelled, count=4)
    assert len(asked) == len(set(asked)) == 4
    assert 100 not in asked
    assert asked[0] >= 50  # the cluster with no label nearby comes first
    assert {a >= 50 for a in asked} == {True, False}  # and both clusters are asked
    # a sure row is never asked before an unsure one
    p2 = np.where(np.arange(102) % 2 == 0, 0.5, 0.99)
    assert all(a % 2 == 0 for a in label_next(p2, z, np.zeros(102, dtype=bool), count=10))
    nan = np.full(102, np.nan)
    assert label_next(nan, z, labelled) == []  # no answer yet: nothing to ask


def test_a_taught_rule_is_asked_at_random_in_one_order_over_the_sheet():
    open_rows = np.ones(1000, dtype=bool)
    first = at_random(open_rows, 5, seed=7)
    assert len(set(first)) == 5 and first == at_random(open_rows, 5, seed=7)
    assert first != sorted(first) and first != at_random(open_rows, 5, seed=8)
    open_rows[first[0]] = False  # answered: the next in the same order comes up
    assert at_random(open_rows, 4, seed=7) == first[1:]
    spread = at_random(np.ones(1000, dtype=bool), 200, seed=7)
    assert 350 < np.mean(spread) < 650  # from the whole sheet, not its top
    assert at_random(np.zeros(10, dtype=bool), 3, seed=7) == []
