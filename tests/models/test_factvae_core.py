"""Unit tests of the factVAE torch core (deepimpute.models.factvae)."""

import pytest
import torch

from deepimpute.models.factvae import FactVAE
from deepimpute.nn import LIKELIHOODS
from deepimpute.schema import AttributeLayout, ModelLayout
from deepimpute.training import Batch


def mixed_layout():
    # num, cat(3), image(4, gaussian), num, cat(2)
    attrs = [
        AttributeLayout("a", "numerical", 0, 1),
        AttributeLayout("b", "categorical", 1, 3),
        AttributeLayout("c", "image", 4, 4, (2, 2), "gaussian"),
        AttributeLayout("d", "numerical", 8, 1),
        AttributeLayout("e", "categorical", 9, 2),
    ]
    return ModelLayout(tuple(attrs))


GROUPS = [[0, 3], [1], [2, 4]]


def make_batch(layout, n=6, seed=0, drop=None):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, layout.width, generator=g)
    for lay in layout.attributes:
        if lay.kind == "categorical":
            idx = torch.randint(lay.width, (n,), generator=g)
            x[:, lay.slice] = torch.nn.functional.one_hot(idx, lay.width).float()
    observed = torch.ones_like(x)
    attr = torch.ones(n, layout.n_attributes)
    if drop is not None:
        for row, a in drop:
            observed[row, layout.attributes[a].slice] = 0
            attr[row, a] = 0
    x = x * observed
    return Batch(x, observed, attr, torch.arange(n))


#: every setting of the core (it has no defaults: the estimator passes them)
CORE = dict(
    latent_dim=3,
    encoder_dim=5,
    generator_dim=4,
    encoder_hidden=(),
    generator_hidden=(),
    numerical="gaussian_learned",
    numerical_scale=1.0,
    sparsity=1.0,
    prox_learning_rate=1e-4,
    group_available_prob=0.9,
    fusion="poe",
    prior_scaling="per_batch_mean",
    weight_prior_std=1.0,
    precision_baseline=100.0,
    n_rows=1,
    n_draws=100,
)


def model(layout=None, groups=GROUPS, **kw):
    torch.manual_seed(0)
    layout = layout or mixed_layout()
    return FactVAE(layout, groups, **{**CORE, **kw})


@pytest.mark.parametrize("numerical", LIKELIHOODS["numerical"])
def test_decoder_params_come_from_own_group(numerical):
    m = model(numerical=numerical, generator_hidden=(6,))
    lay = m.likelihood.layout
    z = torch.randn(4, 3)
    base = m.decode(z)
    assert base.shape == (4, m.likelihood.n_params)
    positions = m._param_positions(lay)
    for g, attrs in enumerate(GROUPS):
        base = m.decode(z)
        with torch.no_grad():
            m.generator[-1].bias[g] += 1.0
        changed = (m.decode(z) != base).any(0).nonzero().flatten().tolist()
        own = sorted(p for a in attrs for p in positions[a])
        assert changed == own
    # every parameter position is written by exactly one group
    assert sorted(m.param_gather.tolist()) == sorted(set(m.param_gather.tolist()))


def test_product_of_experts_closed_form_and_shrinking_variance():
    torch.manual_seed(1)
    mu = torch.randn(5, 4, 3)
    prec = torch.rand(5, 4, 3) * 3
    use = torch.tensor([[1, 0, 1, 0]] * 5, dtype=torch.float32)
    mean, total = FactVAE.product_of_experts(mu, prec, use)
    exp_prec = 1 + prec[:, 0] + prec[:, 2]
    exp_mean = (prec[:, 0] * mu[:, 0] + prec[:, 2] * mu[:, 2]) / exp_prec
    torch.testing.assert_close(total, exp_prec)
    torch.testing.assert_close(mean, exp_mean)
    # no group: the prior
    mean0, total0 = FactVAE.product_of_experts(mu, prec, torch.zeros(5, 4))
    assert torch.all(mean0 == 0) and torch.all(total0 == 1)
    more = use.clone()
    more[:, 1] = 1
    _, total_more = FactVAE.product_of_experts(mu, prec, more)
    assert torch.all(1 / total_more <= 1 / total)


def test_encoder_ignores_missing_values_and_availability():
    m = model()
    m.eval()
    batch = make_batch(mixed_layout(), drop=[(0, 1), (1, 2), (1, 4), (2, 0)])
    mu, prec, avail = m.experts(batch)
    assert mu.shape == prec.shape == (6, 3, 3)
    assert torch.all(prec >= 0)
    expected = torch.ones(6, 3)
    expected[0, 1] = 0  # group 1 = attribute 1 only
    expected[1, 2] = 0  # both attributes of group 2 hidden
    torch.testing.assert_close(avail, expected)
    # garbage in unobserved slots changes nothing
    noisy = Batch(batch.x + 5 * (1 - batch.observed), batch.observed,
                  batch.attr_observed, batch.index)
    mu2, prec2, _ = m.experts(noisy)
    torch.testing.assert_close(mu, mu2)
    torch.testing.assert_close(prec, prec2)


def test_loss_never_reads_hidden_values():
    m = model()
    batch = make_batch(mixed_layout(), drop=[(0, 1), (1, 2), (3, 4)])
    noisy = Batch(batch.x + 7 * (1 - batch.observed), batch.observed,
                  batch.attr_observed, batch.index)
    torch.manual_seed(3)
    a = m.loss(batch)
    torch.manual_seed(3)
    b = m.loss(noisy)
    torch.testing.assert_close(a, b)


def test_group_dropout_only_in_training():
    m = model(group_available_prob=0.5)
    avail = torch.ones(200, 3)
    m.train()
    kept = m._inference_set(avail)
    assert 0.3 < kept.mean() < 0.7
    m.eval()
    assert torch.equal(m._inference_set(avail), avail)


def test_optimizers_split_phi_into_sgd():
    m = model(prox_learning_rate=3e-4)
    adam, sgd = m.configure_optimizers(1e-3)
    assert isinstance(adam, torch.optim.Adam) and type(sgd) is torch.optim.SGD
    sgd_params = sgd.param_groups[0]["params"]
    assert sgd.param_groups[0]["lr"] == 3e-4
    assert sgd.param_groups[0]["momentum"] == 0
    assert {id(p) for p in sgd_params} == {id(m.W), id(m.V)}
    adam_ids = {id(p) for p in adam.param_groups[0]["params"]}
    assert adam_ids.isdisjoint({id(m.W), id(m.V)})
    assert len(adam_ids) + 2 == len(list(m.parameters()))


def test_proximal_step_soft_thresholds_columns():
    m = model(sparsity=2.0, prox_learning_rate=0.05)  # threshold 0.1
    with torch.no_grad():
        m.W[0, 1] = 0.01
        m.V[0, 1] = 0.01
    before = m.sparsity_map().detach().clone()
    direction = m.W.detach().clone()
    m.proximal_step()
    after = m.sparsity_map().detach()
    assert after[0, 1] == 0  # small column switched off exactly
    big = before > 0.1
    torch.testing.assert_close(after[big], before[big] - 0.1)
    # a shrink keeps the direction of each column
    ratio = m.W.detach()[1, 0] / direction[1, 0]
    torch.testing.assert_close(ratio, torch.full_like(ratio, float(ratio[0])))
    # lambda = 0: nothing moves
    m0 = model(sparsity=0.0)
    s0 = m0.sparsity_map().detach().clone()
    m0.proximal_step()
    torch.testing.assert_close(m0.sparsity_map().detach(), s0)


def test_training_step_applies_prox_and_returns_loss():
    m = model(sparsity=1.0, prox_learning_rate=1e-2)
    opts = m.configure_optimizers(1e-3)
    batch = make_batch(mixed_layout(), n=8)
    s0 = m.sparsity_map().detach().clone()
    logs = m.training_step(batch, opts)
    assert set(logs) == {"loss"} and torch.isfinite(torch.tensor(logs["loss"]))
    assert torch.all(m.sparsity_map() < s0)


def test_zero_link_makes_group_uninformative_for_latent():
    m = model()
    m.eval()
    with torch.no_grad():
        m.V[1, 2] = 0.0
    batch = make_batch(mixed_layout())
    _, prec, _ = m.experts(batch)
    assert torch.all(prec[:, 1, 2] == 0)


@pytest.mark.parametrize("fusion", ["poe", "moe"])
def test_impute_sample_loglik_shapes(fusion):
    m = model(fusion=fusion, n_draws=7)
    m.eval()
    batch = make_batch(mixed_layout(), drop=[(0, 0), (0, 3), (2, 1)])
    with torch.no_grad():
        out = m.impute(batch)
        draw = m.sample(batch)
        ll = m.log_likelihood(batch)
        loss = m.loss(batch)
    assert out.shape == draw.shape == batch.x.shape
    assert ll.shape == (6,) and torch.all(torch.isfinite(ll))
    assert torch.isfinite(loss)
    # categorical slots of the point imputation are probabilities
    torch.testing.assert_close(out[:, 1:4].sum(-1), torch.ones(6))


def test_mixture_weights_and_variance_growth():
    m = model(fusion="moe")
    m.eval()
    torch.manual_seed(0)
    mu = torch.randn(2, 3, 3)
    prec = torch.rand(2, 3, 3) + 0.1
    use = torch.tensor([[1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    c_mu, c_prec, log_w = m.mixture(mu, prec, use)
    torch.testing.assert_close(log_w.exp()[0], torch.tensor([0.5, 0.5, 0, 0]))
    torch.testing.assert_close(log_w.exp()[1], torch.tensor([0.0, 0, 0, 1]))
    assert torch.all(c_prec[:, -1] == 1) and torch.all(c_mu[:, -1] == 0)


def test_bad_groups_rejected():
    with pytest.raises(ValueError, match="partition"):
        FactVAE(mixed_layout(), [[0, 1], [1, 2, 3, 4]], **CORE)
    with pytest.raises(ValueError, match="partition"):
        FactVAE(mixed_layout(), [[0, 1], [2, 3]], **CORE)
