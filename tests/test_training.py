"""The shared training loop: divergence is never silent (issue 17, item 3)."""

import numpy as np
import pytest
import torch

from deepimpute.imputers import IMPUTERS, BaseDeepImputer
from deepimpute.training import (
    EXPLOSION_FACTOR,
    DivergenceGuard,
    check_inference,
    loss_growth,
)
from instances import correlated_table, tiny

DEEP = sorted(n for n, c in IMPUTERS.items() if issubclass(c, BaseDeepImputer))
# GAIN's and MisGAN's imputers end in a sigmoid on the min-max scaled table: a
# too-large step saturates them but cannot move an imputation out of the observed
# range; their losses (a WGAN critic's for MisGAN) may stay moderate (tested below)
BOUNDED = ["gain", "misgan"]
DIVERGING = [n for n in DEEP if n not in BOUNDED]


@pytest.fixture(scope="module")
def table():
    return correlated_table(n=200, p=5, missing_rate=0.2, seed=0)[1]


@pytest.mark.parametrize("name", DIVERGING)
def test_too_large_learning_rate_raises_a_clear_error(name, table):
    est = tiny(name).set_params(learning_rate=1e6, max_iter=5)
    with pytest.raises(FloatingPointError) as info:
        est.fit(table)
    msg = str(info.value)
    assert msg.startswith(f"{type(est).__name__} diverged at epoch ")
    assert "Lower learning_rate (it is 1e+06)" in msg


@pytest.mark.parametrize("name", ["vae", "miwae", "hivae", "rvi", "factvae"])
def test_exploding_finite_loss_is_caught(name, table):
    # at learning_rate=10 the losses stay finite but grow by orders of magnitude
    # (and VAE imputed 1e4 in columns of sd 1 without a word before)
    est = tiny(name).set_params(learning_rate=10.0, max_iter=5)
    with pytest.raises(FloatingPointError, match=r"diverged at epoch 1: the "):
        est.fit(table)


@pytest.mark.parametrize("name", BOUNDED)
def test_gans_stop_or_stay_in_the_observed_range(name, table):
    est = tiny(name).set_params(learning_rate=1e6, max_iter=5)
    try:
        out = est.fit_transform(table)
    except FloatingPointError as exc:
        assert str(exc).startswith(f"{type(est).__name__} diverged at epoch ")
        return
    lo, hi = np.nanmin(table, axis=0), np.nanmax(table, axis=0)
    slack = 1e-6 * (hi - lo)  # float32 round trip of the min-max scaling
    assert np.all(out >= lo - slack) and np.all(out <= hi + slack)


def test_rvi_transform_time_optimisation_is_checked(table):
    est = tiny("rvi").set_params(inference_learning_rate=1e6, max_iter=2).fit(table)
    with pytest.raises(FloatingPointError, match="RVIImputer: the transform") as info:
        est.transform(table[:20])
    assert "lower inference_learning_rate" in str(info.value)


def test_torch_invalid_value_errors_become_the_divergence_error():
    # MIWAE's "Expected parameter df ... Chi2" at learning_rate=1e6
    module = torch.nn.Linear(2, 1)
    with torch.no_grad():
        module.weight.fill_(float("nan"))
    guard = DivergenceGuard("MIWAEImputer", 1e6)
    with pytest.raises(FloatingPointError, match="MIWAEImputer diverged at epoch 3"):
        with guard.watch(module, 3):
            torch.distributions.Chi2(module.weight.sum().reshape(1))
    # an unrelated error of a healthy model passes through unchanged
    with pytest.raises(ValueError, match="unrelated"):
        with DivergenceGuard("X", 1e-3).watch(torch.nn.Linear(2, 1), 1):
            raise ValueError("unrelated")


def test_guard_thresholds():
    guard = DivergenceGuard("M", 1e-3)
    for value in [50.0, 20.0, 10.0, 400.0, -3.0, 30.0]:  # noisy but healthy
        guard.check_step({"loss": value}, 1)
    with pytest.raises(FloatingPointError, match="rose from -3 to"):
        guard.check_step({"loss": -3.0 + 51.0 * EXPLOSION_FACTOR}, 2)
    with pytest.raises(FloatingPointError, match="training d_loss became nan"):
        DivergenceGuard("M", 1e-3).check_step({"loss": 1.0, "d_loss": np.nan}, 1)
    assert loss_growth(5.0, 100.0, 1.0) == pytest.approx(0.04)
    assert loss_growth(-1e6, 1.0, -1e6) == 0.0  # falling is progress
    module = torch.nn.Linear(2, 1)
    DivergenceGuard("M", 1e-3).check_parameters(module, 1)
    with torch.no_grad():
        module.bias.fill_(float("inf"))
    with pytest.raises(FloatingPointError, match="parameters are no longer finite"):
        DivergenceGuard("M", 1e-3).check_parameters(module, 4)


def test_check_inference():
    theta = torch.zeros(3, 2)
    check_inference(theta, torch.tensor(10.0), torch.tensor(2.0))  # converged
    with pytest.raises(FloatingPointError, match="no longer finite"):
        check_inference(theta / 0.0, torch.tensor(10.0), torch.tensor(2.0))
    with pytest.raises(FloatingPointError, match="rose from 10 to"):
        check_inference(theta, torch.tensor(10.0), torch.tensor(1e5))


def test_imputations_far_outside_the_observed_range_are_caught():
    # a fit that "succeeds" must not return values thousands of ranges away: a
    # linear model extrapolating to a wild row is stopped, and bounds are the fix
    r = np.random.default_rng(0)
    x = r.normal(size=100)
    X = np.column_stack([x, 2 * x + 0.1 * r.normal(size=100)])
    X[::7, 1] = np.nan
    wild = np.array([[1e6, np.nan]])
    est = tiny("mice").set_params(sample_posterior=False).fit(X)
    message = (
        r"MICEImputer imputed 2\.\d+e\+06 in column 1, whose observed values lie in "
        r"\[.*bound the imputations with min_value / max_value"
    )
    with pytest.raises(FloatingPointError, match=message):
        est.transform(wild)
    bounded = tiny("mice").set_params(sample_posterior=False, max_value=[np.inf, 10.0])
    assert bounded.fit(X).transform(wild)[0, 1] == 10.0
