"""A6: the VAE objectives as pure functions (beta, KL <= delta by dual ascent, capacity)."""

import numpy as np
import pytest
from keras import ops

from mpkeras.models.vae_objectives import (
    BetaObjective,
    CapacityObjective,
    ConstrainedObjective,
    make_objective,
)

REC, KL, BETA = 120.0, 7.5, 2.0


def _value(x):
    return float(ops.convert_to_numpy(x))


def test_beta_objective_is_rec_plus_beta_kl_and_keeps_beta():
    objective = BetaObjective()
    assert _value(objective.loss(REC, KL, BETA, 0)) == pytest.approx(REC + BETA * KL)
    assert _value(objective.kl_weight(KL, BETA, 0)) == BETA
    assert objective.next_beta(KL, BETA) is None


@pytest.mark.parametrize("delta", [3.0, 10.0, 1000.0])
def test_constrained_objective_is_the_lagrangian_with_projected_dual_ascent(delta):
    objective = ConstrainedObjective(kl_threshold=delta, beta_learning_rate=0.1)
    # -L = rec + beta (KL - delta): the notes' Lagrangian, negated.
    assert _value(objective.loss(REC, KL, BETA, 0)) == pytest.approx(REC + BETA * (KL - delta))
    assert _value(objective.kl_weight(KL, BETA, 0)) == BETA
    expected = max(0.0, BETA + 0.1 * (KL - delta))  # beta rises iff KL > delta, never < 0
    assert _value(objective.next_beta(ops.convert_to_tensor(KL), BETA)) == pytest.approx(expected)


def test_capacity_objective_pulls_kl_to_a_rising_target():
    objective = CapacityObjective(capacity=5.0, capacity_steps=4)
    targets = [_value(objective.target(np.int64(t))) for t in (0, 2, 4, 9)]
    np.testing.assert_allclose(targets, [0.0, 2.5, 5.0, 5.0])
    for step, c in ((0, 0.0), (2, 2.5), (9, 5.0)):
        for kl in (1.0, 9.0):
            loss = _value(objective.loss(REC, ops.convert_to_tensor(kl), BETA, np.int64(step)))
            assert loss == pytest.approx(REC + BETA * abs(kl - c))
            weight = _value(objective.kl_weight(ops.convert_to_tensor(kl), BETA, np.int64(step)))
            assert weight == BETA * np.sign(kl - c)
    assert objective.next_beta(KL, BETA) is None


def test_make_objective_picks_by_argument():
    assert isinstance(make_objective(), BetaObjective)
    assert isinstance(make_objective(kl_threshold=1.0), ConstrainedObjective)
    assert isinstance(make_objective(capacity=1.0, capacity_steps=5), CapacityObjective)
    with pytest.raises(ValueError, match="not both"):
        make_objective(kl_threshold=1.0, capacity=1.0)
