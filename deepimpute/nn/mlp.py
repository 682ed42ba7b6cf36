"""A multilayer-perceptron builder used by every model."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

__all__ = ["ACTIVATIONS", "LEAKY_SLOPE", "mlp"]

#: negative slope of every leaky ReLU in the package
LEAKY_SLOPE = 0.2

_ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(LEAKY_SLOPE),
    "tanh": nn.Tanh,
    "elu": nn.ELU,
}
#: the hidden activations :func:`mlp` accepts (estimators validate against it)
ACTIVATIONS = tuple(_ACTIVATIONS)


def mlp(
    in_dim: int,
    hidden: Sequence[int],
    out_dim: int,
    *,
    activation: str = "relu",
    batch_norm: bool = False,
    output_activation: str | None = None,
) -> nn.Sequential:
    """Linear -> [BatchNorm] -> activation for every hidden size, then a Linear.

    Parameters
    ----------
    in_dim, out_dim : int
        Input and output widths.
    hidden : sequence of int
        Hidden layer widths (may be empty: a single Linear layer).
    activation : {"relu", "leaky_relu", "tanh", "elu"}
    batch_norm : bool
        Insert ``BatchNorm1d`` after each hidden Linear layer.
    output_activation : {"sigmoid", None}
    """
    if activation not in _ACTIVATIONS:
        raise ValueError(
            f"Unknown activation {activation!r}; use {list(_ACTIVATIONS)}."
        )
    layers: list[nn.Module] = []
    width = in_dim
    for h in hidden:
        layers.append(nn.Linear(width, h))
        if batch_norm:
            layers.append(nn.BatchNorm1d(h))
        layers.append(_ACTIVATIONS[activation]())
        width = h
    layers.append(nn.Linear(width, out_dim))
    if output_activation == "sigmoid":
        layers.append(nn.Sigmoid())
    elif output_activation is not None:
        raise ValueError(f"Unknown output_activation {output_activation!r}.")
    return nn.Sequential(*layers)
