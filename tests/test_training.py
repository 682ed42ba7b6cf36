"""The shared training loop: batching, early stopping, streams, and divergence that
is never silent."""

import numpy as np
import pytest
import torch

from deepimpute.imputers import IMPUTERS, BaseDeepImputer
from deepimpute.training import (
    EXPLOSION_FACTOR,
    BatchStream,
    DivergenceGuard,
    ImputationModule,
    check_inference,
    iterate_batches,
    loss_growth,
    train,
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
    est = tiny("rvi").set_params(inference_learning_rate=1e6, max_iter=2,
                                 inference_init="prior").fit(table)
    with pytest.raises(FloatingPointError, match="RVIImputer: the transform") as info:
        est.transform(table[:20])
    assert "lower inference_learning_rate" in str(info.value)
    # the guide's stage at the end of fit runs the same inference
    with pytest.raises(FloatingPointError, match="RVIImputer: the transform"):
        est.set_params(inference_init="guide").fit(table)


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


# ------------------------------------------------ train() on a toy core, directly
class _MeanCore(ImputationModule):
    """Learns one value per column: the mean of its observed entries."""

    def __init__(self, width):
        super().__init__()
        self.mu = torch.nn.Parameter(torch.zeros(width))
        self.seen_rows: list[int] = []

    def loss(self, batch):
        self.seen_rows.extend(batch.index.tolist())
        err = (batch.x - self.mu).pow(2) * batch.observed
        return err.sum() / batch.observed.sum().clamp(min=1)

    def impute(self, batch):
        return self.mu.expand_as(batch.x)

    sample = impute


def _tensors(n=40, width=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = 2.0 + torch.randn(n, width, generator=g)
    obs = (torch.rand(n, width, generator=g) > 0.2).float()
    return x * obs, obs, obs.clone()


def test_iterate_batches_covers_every_row_once_and_merges_a_short_tail():
    tensors = _tensors(n=21)
    rows = torch.arange(21)
    batches = list(
        iterate_batches(tensors, rows, 10, shuffle=False, device=torch.device("cpu"))
    )
    # 10 + 10 + 1: the single trailing row joins the previous batch (BatchNorm)
    assert [b.n_rows for b in batches] == [10, 11]
    assert torch.equal(torch.cat([b.index for b in batches]), rows)
    torch.testing.assert_close(batches[1].x, tensors[0][10:])
    torch.manual_seed(0)
    shuffled = list(
        iterate_batches(tensors, rows, 10, shuffle=True, device=torch.device("cpu"))
    )
    seen = torch.cat([b.index for b in shuffled])
    assert not torch.equal(seen, rows) and torch.equal(seen.sort().values, rows)


def test_train_fits_records_history_and_holds_out_validation_rows():
    torch.manual_seed(0)
    core, tensors = _MeanCore(3), _tensors()
    history = train(
        core, tensors, max_iter=300, batch_size=8, learning_rate=0.05,
        device=torch.device("cpu"), validation_fraction=0.25, n_iter_no_change=None,
    )
    assert len(history) == 300 and {"epoch", "loss", "val_loss", "seconds"} <= set(
        history[-1]
    )
    x, obs, _ = tensors
    target = (x * obs).sum(0) / obs.sum(0)
    torch.testing.assert_close(core.mu.detach(), target, atol=0.15, rtol=0)
    assert history[-1]["loss"] < history[0]["loss"]
    assert not core.training  # train() leaves the module in eval mode
    # 10 validation rows never take a training step (loss() also runs on them in
    # validation, so count rows seen in the first training epoch only)
    assert len(set(core.seen_rows[:30])) == 30


def test_train_stops_early_and_restores_the_best_state():
    torch.manual_seed(0)
    core = _MeanCore(3)
    states = {}

    def snapshot(epoch, record):
        states[epoch] = core.mu.detach().clone()

    # a rate that overshoots: the validation loss bounces, so the last epoch is not
    # the best one
    history = train(
        core, _tensors(), max_iter=500, batch_size=8, learning_rate=1.5,
        device=torch.device("cpu"), validation_fraction=0.25, n_iter_no_change=5,
        callback=snapshot,
    )
    assert len(history) < 500
    losses = [r["val_loss"] for r in history]
    best = int(np.argmin(losses)) + 1
    assert best < len(history)  # stopped after a plateau of 5 epochs
    assert not torch.equal(states[len(history)], states[best])
    torch.testing.assert_close(core.mu.detach(), states[best], atol=0, rtol=0)


class _ListStream(BatchStream):
    """A custom source of batches (as the Dask stream is): fixed batches, no
    validation."""

    def __init__(self, tensors):
        self.tensors, self.n_rows = tensors, tensors[0].shape[0]
        self.epochs = 0

    @property
    def has_validation(self):
        return False

    def shard(self, rank, world):  # pragma: no cover - single process here
        raise AssertionError("not distributed")

    def train_batches(self, batch_size):
        self.epochs += 1
        return iterate_batches(
            self.tensors, torch.arange(self.n_rows), batch_size, shuffle=False,
            device=torch.device("cpu"),
        )

    def validation_batches(self, batch_size):  # pragma: no cover - no validation
        raise AssertionError("no validation rows")


def test_train_reads_batches_from_a_batch_stream():
    torch.manual_seed(0)
    stream = _ListStream(_tensors())
    history = train(
        _MeanCore(3), stream, max_iter=4, batch_size=16, learning_rate=0.05,
        device=torch.device("cpu"), n_iter_no_change=None,
    )
    assert stream.epochs == 4 and len(history) == 4
    assert "val_loss" not in history[-1]
