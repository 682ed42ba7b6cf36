"""GAIN core: loss pieces, hint semantics, scaling, one training step."""

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import correlated_table

from deepimpute._data import TableEncoder
from deepimpute._utils.scaling import unit_range
from deepimpute.models.gain import GAIN, MinMaxScaling, gain_hint, gain_losses
from deepimpute.schema import ColumnSpec
from deepimpute.training import Batch


def _changed(before, net):
    after = list(net.parameters())
    return any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))


def test_reconstruction_term_only_sees_observed_entries():
    torch.manual_seed(0)
    m = (torch.rand(8, 5) < 0.7).float()
    x, g, d = torch.rand(8, 5), torch.rand(8, 5), torch.rand(8, 5)
    w = torch.ones_like(m)
    _, adv, rec = gain_losses(d, m, x, g, w)
    expected = ((m * (x - g)) ** 2).mean() / m.mean()
    assert torch.allclose(rec, expected)
    # changing the generator output on missing entries leaves the term unchanged
    g2 = torch.where(m.bool(), g, g + 0.5)
    assert torch.allclose(gain_losses(d, m, x, g2, w)[2], rec)
    g3 = torch.where(m.bool(), x, g)
    assert float(gain_losses(d, m, x, g3, w)[2]) == 0.0 < float(rec)
    # the adversarial term looks at missing entries only
    d2 = torch.where(m.bool(), torch.rand(8, 5), d)
    assert torch.allclose(gain_losses(d2, m, x, g, w)[1], adv)


def test_discriminator_loss_is_entrywise_cross_entropy():
    m = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    d = torch.tensor([[0.9, 0.2], [0.3, 0.6]])
    loss_d, _, _ = gain_losses(d, m, torch.zeros(2, 2), torch.zeros(2, 2),
                               torch.ones(2, 2))
    expected = -np.mean(np.log([0.9 + 1e-8, 0.8 + 1e-8, 0.7 + 1e-8, 0.6 + 1e-8]))
    assert float(loss_d) == pytest.approx(expected, rel=1e-6)
    # weights restrict both adversarial terms to the selected entries
    w = torch.tensor([[0.0, 1.0], [0.0, 0.0]])
    loss_d, adv, _ = gain_losses(d, m, torch.zeros(2, 2), torch.zeros(2, 2), w)
    assert float(loss_d) == pytest.approx(-np.log(0.8 + 1e-8), rel=1e-6)
    assert float(adv) == pytest.approx(-np.log(0.2 + 1e-8), rel=1e-6)


def test_code_hint_reveals_only_observed_entries():
    torch.manual_seed(0)
    m = (torch.rand(2000, 10) < 0.6).float()
    h, w = gain_hint(m, 0.9, "code")
    assert torch.all(h <= m)  # H = 1 means "observed", never on a missing entry
    assert torch.all(w == 1)
    share = float(h[m.bool()].mean())
    assert share == pytest.approx(0.9, abs=0.01)


def test_paper_hint_hides_one_coordinate_per_row():
    torch.manual_seed(0)
    m = (torch.rand(500, 6) < 0.6).float()
    h, w = gain_hint(m, 0.9, "paper")
    assert torch.all(w.sum(1) == 1)
    assert torch.all(h[w.bool()] == 0.5)
    assert torch.equal(h[~w.bool()], m[~w.bool()])
    with pytest.raises(ValueError, match="hint mode"):
        gain_hint(m, 0.9, "other")


def test_unit_range_and_scaling_roundtrip():
    X = pd.DataFrame({"a": [1.0, np.nan, 3.0, 5.0], "c": ["x", "y", None, "x"]})
    enc = TableEncoder(ColumnSpec.infer(X)).fit(X, list(X.columns))
    _, data = enc.encode(X)
    low, span = unit_range(enc.layout, data)
    scaling = MinMaxScaling(torch.from_numpy(low), torch.from_numpy(span))
    u = scaling.to_unit(torch.from_numpy(data.values))
    obs = data.observed[:, 0].astype(bool)
    assert float(u[obs, 0].min()) == pytest.approx(0.0, abs=1e-6)
    assert float(u[obs, 0].max()) == pytest.approx(1.0, abs=1e-5)
    assert np.all(low[1:] == 0) and np.all(span[1:] == 1)  # one-hot slots untouched
    back = scaling.from_unit(u).numpy()
    np.testing.assert_allclose(back, data.values, atol=1e-5)


def test_training_step_updates_both_nets_and_impute_keeps_observed():
    torch.manual_seed(0)
    X, Xm = correlated_table(n=64, p=4)
    enc = TableEncoder(ColumnSpec.infer(Xm)).fit(Xm)
    _, data = enc.encode(Xm)
    low, span = unit_range(enc.layout, data)
    model = GAIN(enc.layout, torch.from_numpy(low), torch.from_numpy(span),
                 hidden=None, hint_rate=0.9, alpha=100.0, hint_mode="code")
    batch = Batch(*(torch.from_numpy(a) for a in
                    (data.values, data.observed, data.attr_observed)),
                  torch.arange(64))
    g0 = [p.clone() for p in model.generator.parameters()]
    d0 = [p.clone() for p in model.discriminator.parameters()]
    logs = model.training_step(batch, model.configure_optimizers(1e-3))
    assert set(logs) == {"loss", "d_loss", "g_adv", "rec"}
    assert all(np.isfinite(v) for v in logs.values())
    assert _changed(g0, model.generator)
    assert _changed(d0, model.discriminator)
    with torch.no_grad():
        out = model.impute(batch)
    obs = batch.observed.bool()
    torch.testing.assert_close(out[obs], batch.x[obs], atol=1e-5, rtol=0)

