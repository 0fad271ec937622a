import numpy as np
import pytest

from fastsheet.stats.calibrate import (
    Mode,
    calibrate_flag,
    calibrate_label,
    content_free,
    distribution,
    from_gold,
)


def test_content_free_threshold_is_the_mean_in_logit_space():
    t = content_free([0.2, 0.2, 0.2])
    assert abs(t.value - 0.2) < 1e-9
    t = content_free([0.1, 0.9])
    assert abs(t.value - 0.5) < 1e-9


def test_gold_threshold_separates_a_biased_but_well_ranked_model():
    # the model says "no" to everything (p < 0.5) but ranks perfectly
    p = np.array([0.05, 0.08, 0.1, 0.12, 0.3, 0.32, 0.35, 0.4])
    gold = np.array([0, 0, 0, 0, 1, 1, 1, 1], dtype=bool)
    t = from_gold(p, gold)
    assert 0.12 < t.value < 0.3
    assert ((p >= t.value) == gold).all()


def test_gold_threshold_degenerate_gold():
    assert from_gold(np.array([0.1, 0.2]), np.array([True, True])).value == 0.5


def test_distribution_threshold_splits_two_clusters():
    rng = np.random.default_rng(0)
    p = np.concatenate([rng.uniform(0.01, 0.05, 100), rng.uniform(0.3, 0.4, 100)])
    t = distribution(p)
    assert 0.05 < t.value < 0.3


def test_calibrate_flag_falls_back_to_half():
    c = calibrate_flag(Mode.CONTENT_FREE, content_free_p=[])
    assert c.mode is Mode.NONE and c.threshold == 0.5


def test_label_prior_correction_weights():
    cf = np.array([[0.7, 0.2, 0.1], [0.7, 0.2, 0.1]])
    c = calibrate_label(Mode.CONTENT_FREE, cf)
    adjusted = np.array([0.7, 0.2, 0.1]) * np.array(c.weights)
    assert np.allclose(adjusted / adjusted.sum(), [1 / 3] * 3)


def test_mixture_threshold_follows_a_rare_positive_bump():
    from fastsheet.stats.calibrate import logit, mixture

    rng = np.random.default_rng(1)
    neg = rng.normal(-3.0, 0.7, 950)
    pos = rng.normal(1.0, 0.7, 50)  # 5% positives
    p = 1 / (1 + np.exp(-np.concatenate([neg, pos])))
    t = mixture(p)
    rate = float(np.mean(p >= t.value))
    assert 0.025 < rate < 0.10  # within 2x of the true 5%
    assert -3.0 < float(logit(np.array([t.value]))[0]) < 1.0


def test_mixture_falls_back_to_half_on_too_few_or_flat_scores():
    from fastsheet.stats.calibrate import mixture

    assert mixture(np.array([0.2, 0.3])).value == 0.5
    assert mixture(np.full(100, 0.3)).value == 0.5
    assert calibrate_flag(Mode.MIXTURE, p_yes=np.array([0.1, 0.9])).mode is Mode.NONE


def test_gold_threshold_within_a_rate_keeps_rare_positives_from_being_over_flagged():
    rng = np.random.default_rng(0)
    gold = np.zeros(400, dtype=bool)
    gold[:32] = True  # 8% positive, ranked only loosely
    p = np.clip(0.5 + 0.05 * gold + rng.normal(0, 0.05, 400), 0, 1)
    free = from_gold(p, gold).value
    bounded = from_gold(p, gold, within_rate=2.0).value
    assert (p >= free).sum() > 64  # best balanced accuracy alone flags over 2x the truth
    assert 16 <= (p >= bounded).sum() <= 64
    # a well-ranked model is unaffected: its best threshold is within the rate anyway
    p_good = np.where(gold, 0.8, 0.2)
    assert from_gold(p_good, gold, within_rate=2.0) == from_gold(p_good, gold)


def test_the_mixture_weighs_repeated_scores_by_their_count():
    """Rows with the same record share a score; the fit counts each row, not each score."""
    from fastsheet.stats.calibrate import mixture

    rng = np.random.default_rng(3)
    p = np.concatenate([np.full(300, 0.2), np.full(40, 0.7), rng.uniform(0.05, 0.95, 60)])
    jittered = p + rng.uniform(-1e-9, 1e-9, len(p))  # every score distinct
    repeated = mixture(p).value
    assert repeated == pytest.approx(mixture(jittered).value, abs=1e-3)
    assert repeated != pytest.approx(mixture(np.unique(p)).value, abs=1e-2)  # counts matter
