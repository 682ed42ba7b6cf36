"""The registry and its one builder (used by the command line and the benchmarks)."""

import pytest

from deepimpute.imputers import (
    IMPUTERS,
    QUICK,
    RVIImputer,
    VSAEImputer,
    budget_params,
    make_imputer,
)


def test_quick_caps_draws_and_sets_what_each_imputer_has():
    vsae = make_imputer("vsae", {"latent_dim": 3}, quick=True, random_state=1)
    assert (vsae.latent_dim, vsae.max_iter, vsae.n_draws, vsae.random_state) == (
        3, QUICK["max_iter"], QUICK["n_draws"], 1)
    rvi = make_imputer("rvi", quick=True)
    # RVI's default of 0 draws (decode the posterior mean) is below the cap
    assert rvi.n_draws == RVIImputer().n_draws == 0
    assert rvi.inference_steps == QUICK["inference_steps"]
    mean = make_imputer("mean", quick=True, device="cpu", max_iter=9)
    assert "max_iter" not in mean.get_params()  # parameters it lacks are left out


def test_budget_params_and_unknown_name():
    assert budget_params(VSAEImputer, {"n_draws": 5000, "nope": 1}) == {}
    assert budget_params(VSAEImputer, {"n_draws": 5}) == {"n_draws": 5}
    with pytest.raises(KeyError, match="unknown imputer 'x'"):
        make_imputer("x")
    assert all(type(make_imputer(n)) is cls for n, cls in IMPUTERS.items())


def test_a_misspelt_parameter_is_an_error_naming_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) 'kl_wieght'") as e:
        make_imputer("vsae", kl_wieght=0.5)
    assert "kl_weight" in str(e.value)  # the valid names are listed
    with pytest.raises(ValueError, match="'n_drawz'"):
        make_imputer("vae", {"n_drawz": 3})
    # a name that another imputer has is left out, so one call serves every one
    assert "kl_weight" not in make_imputer("mean", kl_weight=0.5).get_params()
