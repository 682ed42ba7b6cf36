"""The torch imputers' part of the contract: device, seeding, the core, training.

:class:`BaseDeepImputer` builds the method's torch core (``_core``, its arguments
routed by name from the estimator's parameters), trains it with the shared loop
(``deepimpute.training.train``), runs it over the rows at transform and sample time,
and pickles it device-safely. A deep method declares its core and, where the core
needs more than its parameters, the arguments it derives (``_core_arguments``).
"""

from __future__ import annotations

import copy
import math
import warnings
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
import torch

from .._data import EncodedTable
from .._utils import params
from .._utils.scaling import unit_range
from .._utils.sklearn_compat import Interval, StrOptions
from .._utils.torch_utils import call_generators, resolve_device, seeded
from ..schema import ModelLayout
from ..training import (
    BatchStream,
    ImputationModule,
    iterate_batches,
    table_rows,
    train,
)
from ._base import BaseImputer

__all__ = ["BaseDeepImputer"]


class BaseDeepImputer(BaseImputer):
    """Contract of the torch imputers: device, seeding, training loop, pickling.

    Subclasses name their torch core in ``_core`` (an
    ``deepimpute.training.ImputationModule``); every argument of its
    signature is taken from the estimator parameter of the same name, except
    those ``_core_arguments(layout, n_rows)`` derives.
    """

    _parameter_constraints: dict = {
        **BaseImputer._parameter_constraints,
        "device": [str],
        "max_iter": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), None],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "callback": [callable, None],
    }

    _shared_attributes = (
        "spec_",
        "module_",
        "history_",
        "n_iter_",
        "max_iter_",
        "device_",
        "n_features_in_",
        "feature_names_in_",
        "indicator_",
    )

    _range_note = (
        "The decoder's means are unbounded: imputations may fall outside the "
        "observed range (a diverged fit raises FloatingPointError)."
    )

    #: the method's torch core (a subclass of ``training.ImputationModule``)
    _core: type | None = None

    #: a core that shares its parameters across rows and needs nothing but the
    #: encoder's statistics and mini-batches streams its fit from a Dask DataFrame
    _streamed_fit = True

    #: rows per forward pass at transform time
    _inference_batch_size = 1024
    #: ``max_iter="auto"``: epochs for about this many optimiser steps, within
    #: these bounds (a 300-row table gets many epochs, a 300,000-row one a few)
    _auto_steps = 20_000
    _auto_epochs = (10, 1000)

    def _core_arguments(self, layout: ModelLayout, n_rows: int) -> dict:
        """The core's arguments that are not estimator parameters (or not as
        given): the layout, and whatever the method derives."""
        return {"layout": layout}

    def _build_module(self, layout: ModelLayout, n_rows: int) -> ImputationModule:
        given = self._core_arguments(layout, n_rows)
        return self._core(**params.core_arguments(self, self._core, given))

    def _resolve_max_iter(self, n_rows: int) -> int:
        """``max_iter_``: ``max_iter``, or the epochs ``"auto"`` gives ``n_rows``.

        ``"auto"`` counts the steps of an epoch over the training share (without
        the validation rows) and takes ``ceil(_auto_steps / steps)`` epochs,
        clipped to ``_auto_epochs``; early stopping may end training sooner.
        """
        if self.max_iter != "auto":
            return int(self.max_iter)
        n_train = max(1, n_rows - int(round(self.validation_fraction * n_rows)))
        steps = math.ceil(n_train / self.batch_size)
        low, high = self._auto_epochs
        return int(min(high, max(low, math.ceil(self._auto_steps / steps))))

    def _fit(self, C, data, seed):
        device = resolve_device(self.device)
        self.device_ = str(device)
        # ``data`` is the model view in memory, or batches streamed from a Dask
        # DataFrame's partitions (``_fit_stream``)
        # (expanded per batch when its one-hot blocks are wide: ``table_rows``)
        tensors = data if isinstance(data, BatchStream) else table_rows(data)
        self.max_iter_ = self._resolve_max_iter(data.n_rows)
        with seeded(seed, device):
            # built on the CPU whatever torch's default device is (same initial
            # weights on every device); train() moves it to ``device``
            with torch.device("cpu"):
                self.module_ = self._build_module(self.encoder_.layout, data.n_rows)
            self.history_ = self._train_module(tensors, device)
            self._after_training(tensors, device)
        self.n_iter_ = len(self.history_)

    def _fit_stream(self, stream, seed: int) -> None:
        self._fit(None, stream, seed)

    def _stream_options(self) -> dict:
        return dict(
            validation_fraction=self.validation_fraction,
            seed=self.seed_,
            device=resolve_device(self.device),
        )

    def _train_module(self, tensors, device: torch.device) -> list[dict]:
        """Train ``module_`` on ``tensors`` (or a stream) with the estimator's loop
        settings; returns the epochs' history. A second stage (DiffPuter's EM
        rounds) trains again through here."""
        callback = None
        if self.callback is not None:

            def callback(epoch, record):
                return self.callback(self, record)

        return train(
            self.module_,
            tensors,
            max_iter=self.max_iter_,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            device=device,
            validation_fraction=self.validation_fraction,
            n_iter_no_change=self.n_iter_no_change,
            tol=self.tol,
            verbose=self.verbose,
            callback=callback,
            name=type(self).__name__,
        )

    def _after_training(self, tensors, device: torch.device) -> None:
        """A stage after training on the same batches (RVI fits its guide here)."""

    def _batches(self, data: EncodedTable):
        tensors = table_rows(data)
        rows = torch.arange(data.n_rows, device="cpu")
        return iterate_batches(
            tensors,
            rows,
            self._inference_batch_size,
            shuffle=False,
            device=torch.device(self.device_),
            min_batch=1,
        )

    def _run(
        self,
        fn,
        data: EncodedTable,
        seed: int,
        reseed_each_batch: bool,
        decode: bool = False,
    ):
        """``fn`` over the batches of ``data``, concatenated; with ``decode`` each
        batch's model-space output is turned into column codes at once, so the
        model view of the whole input (one-hot wide) is never held."""
        self.module_.eval()
        outs = []
        # the call's own generators (never torch's global one): concurrent calls
        # from threads draw what the same calls made one after another draw
        with named_errors(type(self).__name__), torch.no_grad(), call_generators(
            seed
        ) as generators:
            for batch in self._batches(data):
                if reseed_each_batch:
                    # common random numbers: every batch sees the same noise stream,
                    # so a row's imputation does not depend on its batch-mates
                    generators.reseed()
                out = fn(batch).detach()
                out = out if out.dtype == torch.float64 else out.float()
                out = out.cpu().numpy()
                outs.append(self.encoder_.from_model(out) if decode else out)
        return np.concatenate(outs, axis=0)

    def _impute(self, C, data):
        codes = self._run(self.module_.impute, data, self.seed_, True, decode=True)
        return np.where(np.isnan(C), codes, C)

    def _sample(self, C, data, n_draws, seed):
        draws = []
        for d in range(n_draws):
            codes = self._run(self.module_.sample, data, seed + d, False, decode=True)
            draws.append(np.where(np.isnan(C), codes, C))
        return draws

    def _merge(self, C, values):
        C_model = self.encoder_.from_model(values)
        return np.where(np.isnan(C), C_model, C)

    # ------------------------------------------------------- device-safe pickle
    def __getstate__(self):
        state = super().__getstate__()
        module = state.get("module_")
        if module is not None and self.device_ != "cpu":
            state["module_"] = copy.deepcopy(module).to("cpu")
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        module = self.__dict__.get("module_")
        if module is None:
            return
        wanted = torch.device(self.device_)
        if wanted.type == "cuda" and not torch.cuda.is_available():
            warnings.warn(
                f"{type(self).__name__} was fitted on {self.device_}, which is not "
                "available here; it was loaded on the CPU.",
                UserWarning,
                stacklevel=2,
            )
            self.device_ = "cpu"
            wanted = torch.device("cpu")
        self.module_ = module.to(wanted)



class UnitScaledImputer(BaseDeepImputer):
    """A torch imputer whose core works on the table min-max scaled to [0, 1] (the
    GAN imputers): ``unit_low_`` and ``unit_span_`` are fitted on the training rows
    and handed to the core as its ``low`` and ``span``."""

    _shared_attributes = (
        *BaseDeepImputer._shared_attributes, "unit_low_", "unit_span_"
    )
    #: the fit needs every column's range in model space: a Dask fit samples
    _streamed_fit = False

    def _fit(self, C, data, seed):
        self.unit_low_, self.unit_span_ = unit_range(self.encoder_.layout, data)
        super()._fit(C, data, seed)

    def _core_arguments(self, layout, n_rows):
        return dict(
            layout=layout,
            low=torch.from_numpy(self.unit_low_),
            span=torch.from_numpy(self.unit_span_),
        )

@contextmanager
def named_errors(name: str):
    """Prefix a model's divergence error at transform time with the imputer's name."""
    try:
        yield
    except FloatingPointError as exc:
        raise FloatingPointError(f"{name}: {exc}.") from exc
