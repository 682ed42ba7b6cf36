"""``"auto"`` parameters: resolved at fit time into fitted attributes."""

import math

import numpy as np
import pytest

from deepimpute.imputers import FactVAEImputer, RVIImputer, VSAEImputer


@pytest.mark.parametrize("cls", [VSAEImputer, RVIImputer, FactVAEImputer])
def test_auto_is_the_default_and_scales_with_rows(cls):
    est = cls()
    assert est.max_iter == "auto"
    low, high = cls._auto_epochs
    small, large = est._resolve_max_iter(300), est._resolve_max_iter(300_000)
    assert low <= large < small <= high
    # about _auto_steps optimiser steps where the bounds do not bind
    n = 20_000
    n_train = n - round(est.validation_fraction * n)
    epochs = est._resolve_max_iter(n)
    steps = math.ceil(n_train / est.batch_size)
    assert epochs == min(high, max(low, math.ceil(cls._auto_steps / steps)))


def test_auto_resolved_into_max_iter_not_into_the_parameter(monkeypatch):
    monkeypatch.setattr(RVIImputer, "_auto_steps", 6)
    X = np.random.default_rng(0).normal(size=(60, 3))
    X[::4, 1] = np.nan
    est = RVIImputer(batch_size=16, relay_groups=(4,), inference_steps=3,
                     random_state=0, device="cpu").fit(X)
    # 60 rows, batches of 16: 4 steps an epoch, 6 steps -> 2 epochs -> 10 (floor)
    assert est.get_params()["max_iter"] == "auto"
    assert est.max_iter_ == RVIImputer._auto_epochs[0] == est.n_iter_
    fixed = RVIImputer(max_iter=3, batch_size=16, relay_groups=(4,),
                       inference_steps=3, random_state=0, device="cpu").fit(X)
    assert fixed.max_iter_ == 3 == fixed.n_iter_
