"""Model-level tests of the VSAE torch core: selector, masking, stages, imputation."""

from __future__ import annotations

import pytest
import torch

from deepimpute.models.vsae import VSAE
from deepimpute.schema import AttributeLayout, ModelLayout
from deepimpute.training import Batch

# three numerical attributes and one categorical attribute with 3 classes
LAYOUT = ModelLayout((
    AttributeLayout("a", "numerical", 0, 1),
    AttributeLayout("b", "numerical", 1, 1),
    AttributeLayout("c", "categorical", 2, 3),
    AttributeLayout("d", "numerical", 5, 1),
))
M = LAYOUT.n_attributes


#: every setting of the core (it has no defaults: the estimator passes them); the
#: paper's recipe, small draws and a one-epoch warm-up
CORE = dict(
    latent_dim=2,
    encoder_hidden={
        "numerical": (16, 16), "categorical": (64, 64), "image": (128, 128)
    },
    collective_hidden=(64, 64, 64),
    mask_hidden=(16, 16, 16),
    decoder_hidden=(64, 64, 64),
    mask_decoder=True,
    decoder_mask_condition="predicted",
    warmup_epochs=1,
    n_target_draws=4,
    x_u_target="sample",
    n_draws=16,
    mask_in_weights=True,
    impute="importance",
    numerical="gaussian",
    numerical_scale=1.0,
    extra_drop_rate=0.0,
    kl_weight=1.0,
    kl_warmup_epochs=0,
    n_train_draws=1,
    weight_decay=0.0,
)


def _model(**kw) -> VSAE:
    torch.manual_seed(0)
    return VSAE(LAYOUT, **{**CORE, **kw})


def _batch(n: int = 8, seed: int = 1) -> Batch:
    g = torch.Generator().manual_seed(seed)
    attr = (torch.rand(n, M, generator=g) < 0.6).float()
    attr[0] = 1.0  # one complete row
    attr[1, :] = torch.tensor([1.0, 0.0, 0.0, 1.0])
    x = torch.randn(n, LAYOUT.width, generator=g)
    codes = torch.randint(0, 3, (n,), generator=g)
    x[:, 2:5] = torch.nn.functional.one_hot(codes, 3).float()
    observed = attr[:, LAYOUT.attribute_index()]
    x = x * observed  # zero-filled where missing, as the encoder delivers it
    return Batch(x, observed, attr, torch.arange(n))


def _with_x(batch: Batch, x: torch.Tensor) -> Batch:
    return Batch(x, batch.observed, batch.attr_observed, batch.index)


def _params(model: VSAE, batch: Batch, noise: torch.Tensor):
    return model.proposal(batch.x, batch.observed, batch.attr_observed, noise)


@pytest.mark.parametrize("training", [False, True])
def test_selector_unobserved_values_do_not_matter(training):
    model = _model()
    model.train(training)
    batch = _batch()
    noise = torch.randn_like(batch.x)
    mu, logvar = _params(model, batch, noise)
    x2 = batch.x.clone()
    hidden = batch.observed == 0
    x2[hidden] = 100.0 * torch.randn(int(hidden.sum()))  # garbage placeholders
    mu2, logvar2 = _params(model, _with_x(batch, x2), noise)
    torch.testing.assert_close(mu2, mu)
    torch.testing.assert_close(logvar2, logvar)


@pytest.mark.parametrize("training", [False, True])
def test_selector_observed_block_is_attributive_and_local(training):
    model = _model()
    model.train(training)
    batch = _batch()
    noise = torch.randn_like(batch.x)
    mu, logvar = _params(model, batch, noise)
    att = model.attributive(batch.x, batch.attr_observed)
    col = model.collective_params(batch.x, batch.observed, batch.attr_observed, noise)
    obs = batch.attr_observed.bool()
    # every block comes from the proposal the selector names
    torch.testing.assert_close(mu[obs], att[..., :2][obs])
    torch.testing.assert_close(mu[~obs], col[..., :2][~obs])
    torch.testing.assert_close(logvar[obs], att[..., 2:][obs].clamp(-12, 8))
    # changing attribute "a" leaves the observed blocks of b, c, d unchanged
    x2 = batch.x.clone()
    # a row-dependent change (a constant shift would be undone by BatchNorm)
    x2[:, 0] += torch.arange(batch.n_rows) * batch.observed[:, 0]
    mu2, _ = _params(model, _with_x(batch, x2), noise)
    keep = obs.clone()
    keep[:, 0] = False
    torch.testing.assert_close(mu2[keep], mu[keep])
    # ... while block "a" of rows observing it moves, and so do collective blocks
    assert not torch.allclose(mu2[obs[:, 0], 0], mu[obs[:, 0], 0])
    assert not torch.allclose(mu2[~obs], mu[~obs])


@pytest.mark.parametrize("k", [1, 4])
@pytest.mark.parametrize("stage", [1, 2])
def test_loss_ignores_hidden_entries(stage, k):
    model = _model(n_train_draws=k)
    model.train()
    model.on_epoch_start(0 if stage == 1 else 5)
    assert model.stage == stage
    batch = _batch()
    twin = _model(n_train_draws=k)
    twin.load_state_dict(model.state_dict())  # same BatchNorm statistics too
    twin.train()
    twin.stage = stage
    x = batch.x.clone().requires_grad_(True)
    torch.manual_seed(3)
    loss = model.loss(_with_x(batch, x))
    (grad,) = torch.autograd.grad(loss, x)
    hidden = batch.observed == 0
    assert hidden.any()
    assert torch.all(grad[hidden] == 0)
    assert grad[~hidden].abs().sum() > 0
    # replacing the hidden values changes nothing, given the same noise
    x2 = batch.x.clone()
    x2[hidden] = 7.0
    torch.manual_seed(3)
    loss2 = twin.loss(_with_x(batch, x2))
    torch.testing.assert_close(loss2, loss.detach())


def test_stage_two_adds_unobserved_term_without_touching_batchnorm():
    model = _model()
    model.train()
    batch = _batch()
    model.on_epoch_start(0)
    assert float(model.terms(batch)["unobs_ll"].detach().abs().sum()) == 0.0
    model.on_epoch_start(1)
    stats = {k: v.clone() for k, v in model.state_dict().items() if "running" in k}
    targets = model.generate_targets(batch)
    assert model.training
    assert targets[0].shape == (4, batch.n_rows, LAYOUT.width)
    assert targets[1] is None  # equal weights (the paper's recipe)
    for k, v in model.state_dict().items():
        if "running" in k:
            torch.testing.assert_close(v, stats[k])
    t = model.terms(batch)
    assert float(t["unobs_ll"].detach().abs().sum()) > 0
    # rows without unobserved attributes get no stage-2 term
    assert float(t["unobs_ll"].detach()[0]) == 0.0
    # importance-weighted targets: normalised log-weights over the S draws
    weighted = _model(x_u_target="importance")
    draws, log_w = weighted.generate_targets(batch)
    assert log_w.shape == (4, batch.n_rows)
    torch.testing.assert_close(log_w.exp().sum(0), torch.ones(batch.n_rows))


def test_validation_loss_is_nan_during_warmup_only():
    model = _model(warmup_epochs=2)
    model.eval()
    batch = _batch()
    model.on_epoch_start(0)
    assert torch.isnan(model.validation_loss(batch))
    model.on_epoch_start(2)
    assert torch.isfinite(model.validation_loss(batch))


def test_mask_decoder_ablation():
    model = _model(mask_decoder=False)
    assert model.mask_net is None
    assert model.decoder[0].in_features == 2 * M
    t = model.terms(_batch())
    assert float(t["mask_ll"].detach().abs().sum()) == 0.0
    full = _model()
    assert full.decoder[0].in_features == 2 * M + M
    assert float(full.terms(_batch())["mask_ll"].detach().abs().sum()) > 0


@pytest.mark.parametrize("condition", ["predicted", "true", "sampled"])
@pytest.mark.parametrize("mode", ["importance", "proposal_mean"])
def test_impute_is_row_invariant(condition, mode):
    model = _model(decoder_mask_condition=condition, impute=mode)
    model.train()
    for _ in range(3):  # populate the running statistics
        model.loss(_batch(seed=5))
    model.eval()
    batch = _batch(n=12)
    torch.manual_seed(11)
    full = model.impute(batch)
    rows = torch.tensor([7, 2, 9])
    sub = Batch(batch.x[rows], batch.observed[rows], batch.attr_observed[rows], rows)
    torch.manual_seed(11)
    part = model.impute(sub)
    torch.testing.assert_close(part, full[rows], rtol=1e-5, atol=1e-6)
    assert torch.isfinite(full).all()
    # categorical slots hold probabilities
    torch.testing.assert_close(full[:, 2:5].sum(-1), torch.ones(12))


def test_impute_chunks_agree_with_one_pass():
    model = _model(n_draws=8)
    model.eval()
    batch = _batch(n=10)
    torch.manual_seed(2)
    one = model.impute(batch)
    model.inference_rows = 8 * 3  # 3 rows per chunk
    torch.manual_seed(2)
    chunked = model.impute(batch)
    torch.testing.assert_close(chunked, one, rtol=1e-5, atol=1e-6)


def test_sample_gives_valid_draws():
    model = _model()
    model.eval()
    batch = _batch(n=10)
    draws = model.sample(batch)
    assert draws.shape == (10, LAYOUT.width)
    onehot = draws[:, 2:5]
    assert torch.all((onehot == 0) | (onehot == 1))
    torch.testing.assert_close(onehot.sum(-1), torch.ones(10))
    assert not torch.equal(model.sample(batch), draws)


def test_importance_weighted_bound_is_tighter_than_the_elbo():
    model = _model(warmup_epochs=None)
    model.eval()  # no encoder-side dropout, BatchNorm on running statistics
    batch = _batch(n=16)
    torch.manual_seed(0)
    with torch.no_grad():
        elbo = torch.stack(
            [-model._objective(model.terms(batch)) for _ in range(200)]
        ).mean()
        model.n_train_draws = 64
        t = model.terms(batch)
        iw = torch.stack(
            [-model._objective(model.terms(batch)) for _ in range(20)]
        ).mean()
    assert t["iw_bound"].shape == (16,)
    assert t["obs_ll"].shape == (16,)
    assert iw > elbo + 0.05  # Burda et al.: L_K >= L_1 = ELBO in expectation


def test_kl_warmup_weight_rises_linearly():
    model = _model(kl_warmup_epochs=4)
    weights = []
    for epoch in range(6):
        model.on_epoch_start(epoch)
        weights.append(model.current_kl_weight)
    assert weights == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]
    assert _model().current_kl_weight == 1.0


def test_kl_weight_scales_the_ramp_and_the_validation_objective():
    model = _model(kl_weight=0.5, kl_warmup_epochs=2)
    weights = []
    for epoch in range(4):
        model.on_epoch_start(epoch)
        weights.append(model.current_kl_weight)
    assert weights == [0.0, 0.25, 0.5, 0.5]
    assert model.kl_weight == 0.5  # the setting; the ramp acts on the current one
    model.eval()
    assert model.current_kl_weight == 0.5


def test_validation_loss_uses_batch_statistics_and_leaves_running_ones():
    model = _model(warmup_epochs=None)
    model.eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    loss = model.validation_loss(_batch())
    assert torch.isfinite(loss) and not model.training
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, before[k])
    # one held-out row: no batch statistics, the running ones are used
    one = _batch(n=2)
    one = Batch(one.x[:1], one.observed[:1], one.attr_observed[:1], one.index[:1])
    assert torch.isfinite(model.validation_loss(one))


def test_proposal_means_stay_bounded_for_extreme_inputs():
    # a value far outside what the encoders saw (a rare level, 1e4 standard
    # deviations out) must not send the latent, and so the decoder, off the chart
    from deepimpute.models.vsae import _MU_BOUND

    model = _model()
    model.eval()
    batch = _batch()
    x = batch.x.clone()
    x[0, 0] = 1e4
    mu, _ = _params(model, _with_x(batch, x), torch.zeros_like(x))
    free, _ = _params(model, batch, torch.zeros_like(x))
    # the extreme row saturates at the bound; ordinary rows are left alone
    assert mu.abs().max() == _MU_BOUND < 100
    assert not torch.equal(mu[0], free[0])
    assert torch.equal(mu[1:], free[1:])
