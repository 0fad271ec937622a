"""The score rule's head (scale_head.py), on synthetic features."""

from __future__ import annotations

import numpy as np

from fastsheet.stats.scale_head import (
    MIN_SIGMA,
    choose_scale_head,
    expected_step,
    fit_scale_head,
    scale_folds,
)

POINTS = 5


def data(n: int, seed: int = 0, answer_noise: float = 2.0, state_signal: float = 3.0):
    """Steps 0..4; the answer (expected step) is noisy, one state direction carries them."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, POINTS, n).astype(float)
    answer = np.clip(y + answer_noise * rng.standard_normal(n), 0, POINTS - 1)
    states = rng.standard_normal((n, 6))
    states[:, 2] += state_signal * (y - 2) / 2
    return np.hstack([answer[:, None], states]), y


def test_the_expected_step_is_the_mean_over_the_scale():
    probs = np.array([[1, 0, 0, 0, 0], [0, 0, 0.5, 0.5, 0], [0.2] * 5])
    assert np.allclose(expected_step(probs), [0.0, 2.5, 2.0])


def test_an_anchored_head_on_two_labels_stays_at_the_models_answer():
    x = np.array([[1.0, 3.0], [3.0, -3.0]])  # answer, one state direction
    y = np.array([4.0, 0.0])  # the labels say the opposite of the answer
    head = fit_scale_head(x, y, penalty=1.0, n_answer=1, points=POINTS)
    free = fit_scale_head(x, y, penalty=1.0, n_answer=1, points=POINTS, anchor=1e-4)
    probe = np.array([[1.0, 0.0], [3.0, 0.0]])
    assert np.all(np.abs(head.mean(probe) - probe[:, 0]) < 1.0)  # near the answer
    assert np.any(np.abs(free.mean(probe) - probe[:, 0]) > 1.0)  # free: pulled away


def test_probabilities_cover_the_scale_and_centre_on_the_prediction():
    x, y = data(200)
    head = fit_scale_head(x, y, penalty=1.0, n_answer=1, points=POINTS, sigma=0.6)
    p = head.proba(x)
    assert fit_scale_head(x, y, 1.0, 1, POINTS, sigma=0.01).sigma == MIN_SIGMA
    assert p.shape == (200, POINTS) and np.allclose(p.sum(axis=1), 1) and (p >= 0).all()
    inside = (head.mean(x) > 1) & (head.mean(x) < 3)  # away from the ends
    assert inside.sum() > 50
    assert np.allclose((p @ np.arange(POINTS))[inside], head.mean(x)[inside], atol=0.05)
    assert np.array_equal(np.argmax(p, axis=1)[inside], head.predict(x)[inside].astype(int))


def test_cross_validation_keeps_the_states_where_they_carry_the_scores():
    x, y = data(48, state_signal=5.0)
    choice = choose_scale_head(x, y, n_answer=1, points=POINTS)
    assert choice.penalty is not None and choice.head_score > choice.answer_score
    assert choice.agreed >= 0.6 * len(y) and choice.n_labels == len(y)
    head = fit_scale_head(x, y, choice.penalty, 1, POINTS, choice.sigma)
    test_x, test_y = data(400, seed=1, state_signal=5.0)
    assert np.mean(head.predict(test_x) == test_y) > 0.6
    assert np.mean(np.clip(test_x[:, 0].round(), 0, 4) == test_y) < 0.45  # the answer alone


def test_cross_validation_keeps_the_answer_where_the_states_are_noise():
    x, y = data(48, answer_noise=0.3, state_signal=0.0)
    choice = choose_scale_head(x, y, n_answer=1, points=POINTS)
    assert choice.penalty is None and choice.answer_score >= choice.head_score
    assert 0 < choice.sigma < 1.0  # the answer alone is close: a narrow spread


def test_too_few_labels_choose_nothing():
    x, y = data(3)
    assert choose_scale_head(x, y, 1, POINTS).penalty is None


def test_folds_span_the_scale_and_none_is_empty():
    y = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 4.0, 0.0])
    fold = scale_folds(y, 3)
    assert sorted(np.bincount(fold)) == [2, 2, 3]
    for k in range(3):
        assert np.ptp(y[fold == k]) >= 2  # low and high scores in each
    assert choose_scale_head(np.c_[y, y], y, 1, POINTS).n_labels == len(y)
