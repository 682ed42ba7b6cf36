"""Grouped blocks of ``deepimpute.nn.grouped``, and the old import path of VSAE's."""

import io
import pickle

import torch

from deepimpute.models import vsae
from deepimpute.nn import GroupedMLP, MaskedGroupBatchNorm


def test_masked_batchnorm_ignores_unobserved_rows():
    torch.manual_seed(0)
    net = GroupedMLP(2, 1, (8, 8), 4)
    twin = GroupedMLP(2, 1, (8, 8), 4)
    twin.load_state_dict(net.state_dict())
    x = torch.randn(10, 2, 1)
    mask = torch.ones(10, 2)
    mask[5:, 1] = 0.0
    out = net(x, mask)
    x2 = x.clone()
    x2[5:, 1] = 1e3
    out2 = twin(x2, mask)
    torch.testing.assert_close(out2[:, 0], out[:, 0])
    torch.testing.assert_close(out2[:5, 1], out[:5, 1])
    # running statistics were fed by the observed rows only
    theirs = twin.state_dict()
    for k, a in net.state_dict().items():
        torch.testing.assert_close(a, theirs[k], msg=k)
    assert not torch.allclose(net.norms[0].running_mean, torch.zeros(2, 8))


def test_grouped_mlp_equals_separate_networks():
    torch.manual_seed(0)
    net = GroupedMLP(3, 2, (5,), 4, batch_norm=False)
    x = torch.randn(6, 3, 2)
    out = net(x, torch.ones(6, 3))
    for g in range(3):
        h = torch.nn.functional.leaky_relu(
            x[:, g] @ net.weights[0][g] + net.biases[0][g], 0.2
        )
        torch.testing.assert_close(out[:, g], h @ net.weights[1][g] + net.biases[1][g])


def test_blocks_pickled_under_their_old_module_path_still_load(monkeypatch):
    # estimators pickled before the move reference deepimpute.models.vsae.GroupedMLP
    torch.manual_seed(0)
    net = GroupedMLP(2, 1, (3,), 2)
    monkeypatch.setattr(GroupedMLP, "__module__", "deepimpute.models.vsae")
    monkeypatch.setattr(MaskedGroupBatchNorm, "__module__", "deepimpute.models.vsae")
    payload = pickle.dumps(net)
    monkeypatch.undo()
    assert b"deepimpute.models.vsae" in payload
    assert b"deepimpute.nn.grouped" not in payload
    loaded = pickle.load(io.BytesIO(payload))
    assert type(loaded) is GroupedMLP and vsae.GroupedMLP is GroupedMLP
    x, mask = torch.randn(4, 2, 1), torch.ones(4, 2)
    net.eval()
    loaded.eval()
    torch.testing.assert_close(loaded(x, mask), net(x, mask))


def _reference_norm(h, mask, norm, slope):
    """The masked BatchNorm written out with autograd (the former implementation)."""
    w = mask.unsqueeze(-1).to(h.dtype)
    count = w.sum(0)
    mean = (h * w).sum(0) / count.clamp(min=1.0)
    var = ((h - mean).pow(2) * w).sum(0) / count.clamp(min=1.0)
    enough = count >= 2
    mean = torch.where(enough, mean, norm.running_mean)
    var = torch.where(enough, var, norm.running_var)
    out = (h - mean) * torch.rsqrt(var + norm.eps) * norm.weight + norm.bias
    return torch.nn.functional.leaky_relu(out, slope)


def test_fused_masked_norm_matches_autograd_of_the_formula():
    # values, gradients of input and affine parameters, and running statistics;
    # group 2 has a single masked row, so it runs on its running statistics
    torch.manual_seed(0)
    n, groups, feats = 9, 3, 5
    norm = MaskedGroupBatchNorm(groups, feats).double()
    with torch.no_grad():
        norm.weight.uniform_(0.5, 1.5)
        norm.bias.uniform_(-0.5, 0.5)
        norm.running_var.uniform_(0.5, 2.0)
    ref = MaskedGroupBatchNorm(groups, feats).double()
    ref.load_state_dict(norm.state_dict())
    mask = (torch.rand(n, groups) < 0.7).double()
    mask[:, 2] = 0.0
    mask[0, 2] = 1.0
    h = torch.randn(n, groups, feats, dtype=torch.double, requires_grad=True)
    h2 = h.detach().clone().requires_grad_(True)
    from deepimpute.nn.grouped import masked_group_weights

    out = norm.grouped(h.transpose(0, 1), masked_group_weights(mask.T, h.dtype),
                       0.2).transpose(0, 1)
    expect = _reference_norm(h2, mask, ref, 0.2)
    torch.testing.assert_close(out, expect)
    g = torch.randn_like(out)
    out.backward(g)
    expect.backward(g)
    torch.testing.assert_close(h.grad, h2.grad)
    torch.testing.assert_close(norm.weight.grad, ref.weight.grad)
    torch.testing.assert_close(norm.bias.grad, ref.bias.grad)
    # the reference's running update, as the former module made it
    w = mask.unsqueeze(-1)
    count = w.sum(0)
    enough = count >= 2
    mean = (h2 * w).sum(0) / count.clamp(min=1.0)
    var = ((h2 - mean).pow(2) * w).sum(0) / count.clamp(min=1.0)
    unbiased = var * count / (count - 1).clamp(min=1.0)
    rm = torch.where(enough, 0.9 * ref.running_mean + 0.1 * mean, ref.running_mean)
    rv = torch.where(enough, 0.9 * ref.running_var + 0.1 * unbiased, ref.running_var)
    torch.testing.assert_close(norm.running_mean, rm.detach())
    torch.testing.assert_close(norm.running_var, rv.detach())


def test_fused_masked_norm_passes_gradcheck():
    torch.manual_seed(1)
    from deepimpute.nn.grouped import _MaskedNormAct, masked_group_weights

    groups, n, feats = 2, 6, 3
    mask = torch.tensor([[1, 1, 0, 1, 0, 1], [0, 0, 1, 0, 0, 0]]).double()
    _, wc, enough, unbias = masked_group_weights(mask, torch.double)
    mw = torch.zeros(groups, 1, dtype=torch.double)  # running statistics stay
    rm = torch.randn(groups, feats, dtype=torch.double)
    rv = torch.rand(groups, feats, dtype=torch.double) + 0.5
    h = torch.randn(groups, n, feats, dtype=torch.double, requires_grad=True)
    gamma = torch.rand(groups, 1, feats, dtype=torch.double, requires_grad=True)
    beta = torch.randn(groups, 1, feats, dtype=torch.double, requires_grad=True)

    def f(h, gamma, beta):
        return _MaskedNormAct.apply(h, wc, enough, mw, unbias, gamma, beta, rm, rv,
                                    1e-5, 0.2)

    assert torch.autograd.gradcheck(f, (h, gamma, beta))
