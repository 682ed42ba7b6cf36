"""Model-level tests of the RVI / VAD torch core."""

import pytest
import torch

from deepimpute.models.rvi import RVI, GuideFit, _row_adam, _TopSelection, relay_mask
from deepimpute.nn import gaussian_kl
from deepimpute.schema import AttributeLayout, ModelLayout
from deepimpute.training import Batch, train


def _layout(p=6):
    return ModelLayout(
        tuple(AttributeLayout(f"x{j}", "numerical", j, 1) for j in range(p))
    )


def _batch(n=5, p=6, seed=0, rows=None):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, p, generator=g)
    obs = (torch.rand(n, p, generator=g) > 0.3).float()
    index = torch.arange(n) if rows is None else torch.as_tensor(rows)
    return Batch(x * obs, obs, obs.clone(), index)


#: every setting of the core (it has no defaults: the estimator passes them)
CORE = dict(
    latent_dim=4,
    hidden=(8,),
    relay_groups=(25, 50, 100),
    relay_ratio=0.5,
    relay_variant="topk",
    posterior_var="learned",
    posterior_logvar=-4.0,
    kl_weight=1.0,
    numerical="gaussian",
    posterior_learning_rate=None,
    inference_steps=80,
    inference_learning_rate=3e-3,
    n_draws=0,
    inference_tol=None,
    inference_patience=10,
    inference_init="prior",
)


def _model(n_rows=5, **kw):
    torch.manual_seed(0)
    return RVI(_layout(), n_rows, **{**CORE, **kw})


def test_relay_mask_keeps_largest_absolute_values():
    coef = torch.tensor([[0.1, -3.0, 2.0, 0.5], [4.0, 0.0, -0.2, -5.0]])
    mask = relay_mask(coef, 2)
    assert mask.tolist() == [[0, 1, 1, 0], [1, 0, 0, 1]]


def test_posterior_mean_uses_top_k_relays_per_group():
    model = _model(relay_groups=(4, 6), relay_ratio=0.5)
    assert model.n_keep == (2, 3)
    theta = model.rows[:3]
    mu, _ = model.posterior(theta)
    expected = theta[:, 10:14].clone()
    for start, k, keep, relay in [(0, 4, 2, model.relays[0]),
                                  (4, 6, 3, model.relays[1])]:
        coef = theta[:, start:start + k]
        for i in range(3):
            top = coef[i].abs().argsort(descending=True)[:keep]
            expected[i] += coef[i, top] @ relay[top]
    torch.testing.assert_close(mu, expected, rtol=1e-5, atol=1e-6)


def test_unselected_coefficients_get_no_gradient():
    model = _model(relay_groups=(6,), relay_ratio=0.5)
    theta = model.rows[:2].clone().requires_grad_(True)
    mu, _ = model.posterior(theta)
    mu.sum().backward()
    coef = theta.detach()[:, :6]
    selected = relay_mask(coef, 3).bool()
    grad = theta.grad[:, :6]
    assert torch.all(grad[~selected] == 0)
    assert torch.all(grad[selected] != 0)


def test_cluster_variant_keeps_one_coefficient():
    model = _model(relay_groups=(25, 50), relay_variant="cluster")
    assert model.n_keep == (1, 1)


def test_no_relay_groups_is_the_vad_objective():
    model = _model(relay_groups=())
    assert len(model.relays) == 0
    assert model.n_local == 2 * 4  # offset (mean) and log-variance per row
    batch = _batch()
    torch.manual_seed(3)
    loss = model.loss(batch)
    # hand-written VAD: free per-row mean and log-variance, one reparameterised draw
    torch.manual_seed(3)
    mu, logvar = model.rows[:, :4], model.rows[:, 4:]
    z = mu + torch.exp(0.5 * logvar) * torch.randn(5, 4)
    out = model.decoder(z)
    ll = -0.5 * (torch.log(torch.tensor(2 * torch.pi)) + (batch.x - out) ** 2)
    expected = (gaussian_kl(mu, logvar).sum(-1) - (ll * batch.observed).sum(-1))
    torch.testing.assert_close(loss, expected.mean(), rtol=1e-5, atol=1e-5)


def test_hidden_entries_never_enter_the_loss():
    model = _model(relay_groups=(4,))
    batch = _batch()
    changed = Batch(
        batch.x + 100.0 * (1 - batch.observed), batch.observed,
        batch.attr_observed, batch.index,
    )
    grads = []
    losses = []
    for b in (batch, changed):
        model.zero_grad()
        theta = model.rows[b.index].clone().requires_grad_(True)
        torch.manual_seed(1)
        loss = model.row_loss(theta, b).sum()
        loss.backward()
        losses.append(loss.detach())
        grads.append([theta.grad] + [p.grad.clone() for p in model.parameters()])
    assert torch.equal(losses[0], losses[1])
    for g0, g1 in zip(*grads, strict=True):
        assert torch.equal(g0, g1)


def test_training_step_moves_only_the_batch_rows():
    model = _model(n_rows=8, relay_groups=(4,))
    (opt,) = model.configure_optimizers(1e-2)
    before = model.rows.clone()
    dec_before = [p.clone() for p in model.decoder.parameters()]
    model.training_step(_batch(n=3, rows=[1, 4, 6]), [opt])
    moved = (model.rows != before).any(-1)
    assert moved.tolist() == [False, True, False, False, True, False, True, False]
    assert model.rows_step.squeeze(-1).tolist() == [0, 1, 0, 0, 1, 0, 1, 0]
    assert any(not torch.equal(a, b) for a, b in
               zip(dec_before, model.decoder.parameters(), strict=True))


def test_new_rows_start_at_the_prior_mean():
    # a row with nothing observed has no likelihood gradient: its inferred mean must
    # stay near z = 0 (the prior's, as for VAD), not at a random mix of the relays
    model = _model(relay_groups=(4, 6), inference_steps=20)
    with torch.no_grad():
        for relay in model.relays:
            relay.mul_(10.0)  # learned relays can be long; the init must not care
    batch = _batch()
    empty = Batch(batch.x * 0, batch.observed * 0, batch.attr_observed * 0,
                  batch.index)
    mu, _ = model.posterior(model.infer(empty))
    assert mu.abs().max() < 0.05
    # training rows keep their full-size random coefficients
    # (docs/methods/rvi.md, "Initialisation")
    assert model.posterior(model.rows)[0].abs().max() > 0.5


def test_infer_freezes_the_network_and_is_row_independent():
    model = _model(relay_groups=(4,), inference_steps=20, inference_learning_rate=1e-2)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    batch = _batch(n=6)
    torch.manual_seed(5)
    full = model.infer(batch)
    part = Batch(batch.x[2:4], batch.observed[2:4], batch.attr_observed[2:4],
                 batch.index[2:4])
    torch.manual_seed(5)
    sub = model.infer(part)
    torch.testing.assert_close(sub, full[2:4], rtol=1e-5, atol=1e-6)
    for k, v in model.state_dict().items():
        assert torch.equal(v, state[k]), k
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize("posterior_var", ["learned", "fixed"])
def test_loss_decreases(posterior_var):
    model = _model(n_rows=32, relay_groups=(4, 8), posterior_var=posterior_var)
    batch = _batch(n=32, seed=2)
    (opt,) = model.configure_optimizers(1e-2)
    torch.manual_seed(0)
    first = model.training_step(batch, [opt])["loss"]
    for _ in range(150):
        last = model.training_step(batch, [opt])["loss"]
    assert last < first


def test_tracked_top_selection_equals_relay_mask():
    # the per-row thresholds must give relay_mask's selection at every step of a
    # random walk of the coefficients (rows cross the threshold now and then)
    g = torch.Generator().manual_seed(0)
    coefs = [1e-3 * torch.randn(64, k, generator=g) for k in (5, 12)]
    keep = (2, 6)
    select = _TopSelection(keep)
    for _ in range(40):
        masks = select(coefs)
        for coef, k, mask in zip(coefs, keep, masks, strict=True):
            assert torch.equal(mask, relay_mask(coef, k))
        coefs = [c + 1e-2 * torch.randn(c.shape, generator=g) for c in coefs]


def test_infer_matches_the_plain_row_adam_loop():
    # the in-place, per-block optimisation is the row-wise Adam of the training
    # rows: the same steps as _row_adam on the whole parameter table
    model = _model(
        relay_groups=(4, 6), inference_steps=30, inference_learning_rate=1e-2
    )
    batch = _batch(n=16)
    torch.manual_seed(1)
    fast = model.infer(batch)
    torch.manual_seed(1)
    theta = model.init_rows(1, relay_scale=1e-3).expand(16, -1).clone()
    m, v, step = torch.zeros_like(theta), torch.zeros_like(theta), torch.zeros(16, 1)
    for _ in range(30):
        theta.requires_grad_(True)
        (grad,) = torch.autograd.grad(
            model.row_loss(theta, batch, shared_noise=True).sum(), theta)
        theta, m, v, step = _row_adam(theta.detach(), grad, m, v, step, 1e-2)
    torch.testing.assert_close(fast, theta, rtol=1e-4, atol=1e-5)


def test_early_stop_is_per_row_and_independent_of_batch_mates():
    model = _model(relay_groups=(4,), inference_steps=60, inference_learning_rate=1e-2,
                   inference_tol=0.05, inference_patience=3)
    batch = _batch(n=24, seed=3)
    torch.manual_seed(5)
    full, taken = model.infer(batch, return_steps=True)
    # rows stop at different steps, some before the last one
    assert len(set(taken.tolist())) > 1 and int(taken.min()) < 60
    for rows in ([0, 5, 11], [int(taken.argmin())], list(range(12, 24))):
        part = Batch(batch.x[rows], batch.observed[rows],
                     batch.attr_observed[rows], batch.index[rows])
        torch.manual_seed(5)
        sub, sub_taken = model.infer(part, return_steps=True)
        assert torch.equal(sub_taken, taken[rows])
        torch.testing.assert_close(sub, full[rows], rtol=1e-5, atol=1e-6)
    # without early stopping every row takes every step
    model.inference_tol = None
    torch.manual_seed(5)
    _, all_steps = model.infer(batch, return_steps=True)
    assert all_steps.eq(60).all()


def _fit_guide(model, batch, epochs=300):
    targets = model.guide_targets(batch)
    history = train(GuideFit(model, targets), (batch.x, batch.observed,
                    batch.attr_observed), max_iter=epochs, batch_size=batch.n_rows,
                    learning_rate=1e-2, device="cpu", validation_fraction=0.0,
                    n_iter_no_change=None)
    return targets, history


def test_the_guide_does_not_change_training():
    # built outside the global random stream: a seeded model with a guide has the
    # same decoder, relays and rows as one without
    plain = _model(relay_groups=(4, 6)).state_dict()
    guided = _model(relay_groups=(4, 6), inference_init="guide").state_dict()
    assert set(plain) < set(guided)
    for k, v in plain.items():
        assert torch.equal(v, guided[k]), k


def test_guide_fit_learns_the_targets_and_moves_only_the_guide():
    model = _model(relay_groups=(4,), inference_init="guide", inference_steps=40,
                   inference_learning_rate=1e-2)
    batch = _batch(n=32, seed=2)
    before = {k: v.clone() for k, v in model.state_dict().items()
              if not k.startswith("guide") and k != "use_guide"}
    assert not bool(model.use_guide)
    torch.manual_seed(3)
    unfitted = model.guide_targets(batch)
    targets, history = _fit_guide(model, batch)
    assert bool(model.use_guide)
    assert history[-1]["loss"] < 0.05 * history[0]["loss"]
    with torch.no_grad():
        err = (model.guess(batch) - targets).pow(2).mean()
    assert err < 0.05 * targets.pow(2).mean()
    for k, v in before.items():
        assert torch.equal(model.state_dict()[k], v), k
    assert not any(p.requires_grad for p in model.guide.parameters())
    # targets are inference from the prior, whether the guide is fitted or not
    torch.manual_seed(3)
    torch.testing.assert_close(model.guide_targets(batch), unfitted)
    with pytest.raises(ValueError, match="no guide"):
        GuideFit(_model(), targets)


def test_guide_fit_holds_only_the_guide():
    # the training loop checks every parameter and buffer of what it trains each
    # epoch: the RVI's per-row tables (as large as the training set) stay out
    model = _model(relay_groups=(4,), inference_init="guide")
    fit = GuideFit(model, torch.zeros(8, model.latent_dim))
    held = {id(t) for t in (*fit.parameters(), *fit.buffers())}
    assert {id(p) for p in model.guide.parameters()} <= held
    assert not {id(t) for t in (model.rows, model.rows_m, model.rows_v)} & held
    assert not {id(p) for p in model.decoder.parameters()} & held


def test_new_rows_start_at_the_guess_and_stay_row_independent():
    model = _model(relay_groups=(4, 6), inference_init="guide", inference_steps=20,
                   inference_learning_rate=1e-2)
    batch = _batch(n=24, seed=4)
    _fit_guide(model, batch, epochs=50)
    with torch.no_grad():
        guess = model.guess(batch)
    start, _ = model.posterior(model.infer(batch, steps=0))
    torch.testing.assert_close(start, guess, rtol=1e-5, atol=1e-6)
    torch.manual_seed(5)
    full = model.infer(batch)
    rows = [1, 7, 20]
    part = Batch(batch.x[rows], batch.observed[rows], batch.attr_observed[rows],
                 batch.index[rows])
    torch.manual_seed(5)
    torch.testing.assert_close(model.infer(part), full[rows], rtol=1e-5, atol=1e-6)
    # early stopping starts from the same guess
    model.inference_tol, model.inference_patience = 0.05, 3
    torch.manual_seed(5)
    stopped, taken = model.infer(batch, return_steps=True)
    assert int(taken.min()) >= 1 and torch.isfinite(stopped).all()


def test_stochastic_round_is_unbiased_and_lands_on_neighbours():
    from deepimpute.models.rvi import stochastic_round

    torch.manual_seed(0)
    # 1 + 1e-3 lies between the bfloat16 neighbours 1 and 1 + 2^-7; nearest
    # rounding would always give 1 and lose the step
    x = torch.full((200_000,), 1.0 + 1e-3)
    r = stochastic_round(x, torch.bfloat16)
    assert r.dtype == torch.bfloat16
    assert set(r.float().unique().tolist()) == {1.0, 1.0 + 2**-7}
    assert abs(float(r.float().mean()) - (1 + 1e-3)) < 2e-5
    neg = stochastic_round(-x, torch.bfloat16).float()
    assert abs(float(neg.mean()) + (1 + 1e-3)) < 2e-5
    same = torch.randn(5)
    assert stochastic_round(same, torch.float32) is same


def test_bfloat16_tables_halve_memory_and_train_like_float32():
    # the same fit with float32 and bfloat16 tables: the tables take half the
    # bytes and the rows' ELBO after training agrees within a few percent
    torch.manual_seed(0)
    n = 256
    z = torch.randn(n, 2)
    x = torch.cat([z, z @ torch.randn(2, 4)], 1) + 0.1 * torch.randn(n, 6)
    obs = (torch.rand(n, 6) > 0.3).float()
    tensors = (x * obs, obs, obs.clone())
    losses, sizes = {}, {}
    for dtype in ("float32", "bfloat16"):
        model = _model(n_rows=n, row_dtype=dtype, relay_groups=(8, 16))
        sizes[dtype] = sum(t.element_size() * t.numel()
                           for t in (model.rows, model.rows_m, model.rows_v))
        torch.manual_seed(1)
        train(model, tensors, max_iter=60, batch_size=64, learning_rate=1e-2,
              device=torch.device("cpu"), validation_fraction=0.0,
              n_iter_no_change=None)
        assert model.rows.dtype == getattr(torch, dtype)
        with torch.no_grad():
            torch.manual_seed(2)
            losses[dtype] = float(model.loss(Batch(*tensors, torch.arange(n))))
    assert sizes["bfloat16"] * 2 == sizes["float32"]
    first = _model(n_rows=n, relay_groups=(8, 16))
    assert losses["float32"] < 0.85 * float(
        first.loss(Batch(*tensors, torch.arange(n))).detach())
    assert abs(losses["bfloat16"] - losses["float32"]) < 0.05 * abs(losses["float32"])


def test_row_dtype_is_checked():
    with pytest.raises(ValueError, match="row_dtype"):
        _model(row_dtype="float16")
