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
