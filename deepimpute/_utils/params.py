"""Estimator parameters declared once: storing, renamed names, shared docstrings.

Every imputer keeps scikit-learn's explicit ``__init__`` signature (``get_params``
reads it) and stores its arguments with one call, :func:`store_params`. The
parameters many imputers share (``column_spec``, ``device``, ``max_iter``, the
scikit-learn imputer parameters ...) are documented here once, in
:data:`SHARED_PARAMETERS`; :func:`document` builds an estimator's Parameters and
Attributes sections in signature order from its own entries (which win) and these.
A renamed parameter keeps its old name for one release (:data:`DEPRECATED`,
:func:`renamed_constraints`, :func:`check_renamed`, :func:`param`).
"""

from __future__ import annotations

import inspect
import re
import warnings

from .sklearn_compat import Hidden, StrOptions

__all__ = [
    "DEPRECATED",
    "check_renamed",
    "core_arguments",
    "document",
    "param",
    "renamed_constraints",
    "store_params",
]

#: the value of a renamed parameter's old name when the caller did not set it
DEPRECATED = "deprecated"
#: the release that renamed parameters and the one that removes the old names
RENAMED_IN, REMOVED_IN = "0.2", "0.3"


def store_params(est, params: dict) -> None:
    """Set every ``__init__`` argument on ``est`` unchanged (``params`` is the
    ``__init__``'s ``locals()``): the whole body of an imputer's ``__init__``."""
    for name in inspect.signature(type(est).__init__).parameters:
        if name != "self":
            setattr(est, name, params[name])


# ------------------------------------------------------------ renamed names
def renamed_constraints(renamed: dict[str, str], constraints: dict) -> dict:
    """Constraints of deprecated aliases: the new name's, or the hidden marker."""
    return {
        old: [*constraints[new], Hidden(StrOptions({DEPRECATED}))]
        for old, new in renamed.items()
    }


def check_renamed(est) -> None:
    """Warn for each deprecated alias set; refuse an alias set with its new name."""
    defaults = inspect.signature(type(est).__init__).parameters
    for old, new in est._renamed.items():
        value = getattr(est, old)
        if isinstance(value, str) and value == DEPRECATED:
            continue
        if _differs(getattr(est, new), defaults[new].default):
            raise ValueError(
                f"{type(est).__name__}: set {new!r} only; {old!r} is its "
                f"deprecated old name (got {old}={value!r} and "
                f"{new}={getattr(est, new)!r})."
            )
        warnings.warn(
            f"{old!r} was renamed {new!r} in {RENAMED_IN} and will be removed in "
            f"{REMOVED_IN}; use {new}={value!r}.",
            FutureWarning,
            stacklevel=4,
        )


def param(est, name: str):
    """The value of parameter ``name``, or of its deprecated old name if set."""
    for old, new in est._renamed.items():
        if new == name:
            value = getattr(est, old)
            if not (isinstance(value, str) and value == DEPRECATED):
                return value
    return getattr(est, name)


def _differs(value, default) -> bool:
    """Whether a parameter's value is not its default (by identity or equality)."""
    if value is default:
        return False
    try:
        return bool(value != default)
    except (TypeError, ValueError):  # e.g. an array compared element-wise
        return True


def core_arguments(est, core: type, given: dict) -> dict:
    """Keyword arguments of torch core ``core``: ``given`` (what the estimator
    derives: the layout, row count, resolved settings), then every other argument
    of the core's signature under its estimator parameter's name."""
    out = dict(given)
    for name in list(inspect.signature(core.__init__).parameters)[1:]:
        if name not in out:
            out[name] = param(est, name)
    return out


# --------------------------------------------------------- shared docstrings
#: numpydoc entries of the parameters many imputers share, by name: the type
#: (``default=`` is added from the signature) and the description. An imputer
#: whose parameter means more documents it itself; its entry wins.
SHARED_PARAMETERS: dict[str, tuple[str, str]] = {
    "column_spec": (
        "ColumnSpec",
        "Attribute description; inferred from dtypes when None.",
    ),
    "handle_unknown": (
        '{"error", "missing"}',
        "Unseen categories at transform time: raise, or impute them (warning).",
    ),
    "device": (
        "str",
        '``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ``"cuda:1"``...',
    ),
    "max_iter": (
        'int or "auto"',
        'Training epochs; ``"auto"`` chooses them from the row count (about '
        "20,000 optimiser steps, 10 to 1000 epochs) into ``max_iter_``; early "
        "stopping may end training sooner.",
    ),
    "batch_size": (
        "int",
        "Rows per mini-batch (at least 1). Larger batches run an epoch faster, "
        "notably on a GPU; smaller ones make more updates per epoch on small "
        "tables.",
    ),
    "learning_rate": ("float", "Adam step size."),
    "validation_fraction": (
        "float",
        "Share of training rows used for early stopping on the validation loss.",
    ),
    "n_iter_no_change": (
        "int or None",
        "Patience of early stopping in epochs (None: train ``max_iter`` epochs).",
    ),
    "tol": ("float", "Minimum improvement of the monitored loss."),
    "random_state": (
        "int, RandomState instance or None",
        "Seeds weight initialisation, shuffling and sampling.",
    ),
    "verbose": ("int", "1 shows a progress bar over epochs with the current loss."),
    "callback": (
        "callable",
        "``callback(imputer, record)`` after each epoch (``record`` is the epoch's "
        "history entry); a returned dict is merged into the record.",
    ),
    "missing_values": (
        "int, float, str, np.nan, None or pandas.NA",
        "The placeholder of missing entries. NaN, None and pandas.NA always count "
        'as missing; another value (e.g. -1 or "") marks missing entries too.',
    ),
    "add_indicator": (
        "bool",
        "Append a ``MissingIndicator`` column (named "
        "``missingindicator_<name>``) for each feature with missing entries at "
        "fit.",
    ),
    "keep_empty_features": (
        "bool",
        "A column entirely missing at fit is dropped from the output (False) or "
        "kept, its missing entries set to 0 (True), as scikit-learn's imputers do.",
    ),
    "numerical": (
        "str",
        'Likelihood of numerical attributes, one of '
        '``deepimpute.nn.LIKELIHOODS["numerical"]``.',
    ),
    "activation": ('{"relu", "tanh", "leaky_relu", "elu"}', "Hidden activation."),
    "min_value, max_value": (
        "float or array-like of shape (n_features,)",
        "Bounds of the imputed values of numerical columns, per column or for all "
        "(observed entries are never changed). At the default, a column never "
        "negative at fit (weights, counts, prices) is not imputed below 0, and an "
        "integer column stays within its observed range; a lower bound per column "
        "(e.g. ``np.full(n_features, -np.inf)``) sets every lower bound itself.",
    ),
}

#: the fitted attributes every imputer has, those of the torch imputers and
#: of the GAN imputers (``UnitScaledImputer``)
SHARED_ATTRIBUTES: dict[str, tuple[str, str]] = {
    "spec_": ("ColumnSpec", "The resolved attribute description."),
    "module_": ("torch.nn.Module", "The trained torch core."),
    "history_": ("list of dict", "Per-epoch training records."),
    "n_iter_": ("int", "Number of epochs run."),
    "max_iter_": (
        "int",
        'Epochs allowed: ``max_iter``, or the number ``"auto"`` chose.',
    ),
    "device_": ("str", "Device the model lives on."),
    "n_features_in_": ("int", "Number of features seen during fit."),
    "feature_names_in_": (
        "ndarray of shape (`n_features_in_`,)",
        "Names of features seen during fit (DataFrame input only).",
    ),
    "indicator_": (
        "MissingIndicator or None",
        "The indicator of ``add_indicator=True``, fitted on the missing entries of "
        "the training data; None otherwise.",
    ),
    "unit_low_": (
        "ndarray of shape (n_model_columns,)",
        "Model-space value mapped to 0 (observed training minimum of numerical "
        "slots, 0 elsewhere).",
    ),
    "unit_span_": (
        "ndarray of shape (n_model_columns,)",
        "Model-space range mapped to [0, 1] (``max - min + 1e-6``; 1 elsewhere).",
    ),
}

_WIDTH = 76  # text width of a description line (after its 4-space indent)


def document(cls, attributes: tuple[str, ...]) -> None:
    """Complete ``cls.__doc__``: its Parameters section in signature order, each
    entry its own or :data:`SHARED_PARAMETERS`' (with the signature's default, and
    ``cls._range_note`` after the bounds), renamed names described from
    ``cls._renamed``; its Attributes section: the shared ``attributes`` (its own
    entry where it has one), then its others."""
    doc = cls.__dict__.get("__doc__")
    if not doc:
        return
    indent = re.search(r"^( *)Parameters\n", doc, flags=re.M)
    if indent is None:
        return
    pad = indent.group(1)
    own = _entries(doc, "Parameters")
    signature = inspect.signature(cls.__init__).parameters
    renamed = cls.__dict__.get("_renamed", getattr(cls, "_renamed", {}))
    # an entry may document several parameters ("a, b : float"): it stands at
    # the place of its first one
    combined = {n.strip(): key for key in own for n in key.split(",")}
    combined.setdefault("min_value", "min_value, max_value")
    combined.setdefault("max_value", "min_value, max_value")
    lines: list[str] = []
    done: set[str] = set()
    for name, p in signature.items():
        key = combined.get(name, name)
        if name == "self" or key in done:
            continue
        done.add(key)
        if key in own:
            lines += own[key]
            continue
        if name in renamed:
            lines += _deprecated_entry(
                [n for n in signature if n in renamed and n not in combined], renamed
            )
            done.update(renamed)
            continue
        if key not in SHARED_PARAMETERS:
            continue  # undocumented: tests/test_docstrings.py names it
        kind, text = SHARED_PARAMETERS[key]
        default = (
            "-inf, inf" if key == "min_value, max_value" else _default(p.default)
        )
        if key == "min_value, max_value" and cls._range_note:
            text = f"{text} {cls._range_note}"
        lines.append(f"{key} : {kind}, default={default}")
        lines += _wrap(text)
    doc = _replace_section(doc, "Parameters", lines, pad)
    own_attrs = _entries(doc, "Attributes")
    if any(name not in own_attrs for name in attributes):
        shared = [
            own_attrs.get(name)
            or [f"{name} : {SHARED_ATTRIBUTES[name][0]}",
                *_wrap(SHARED_ATTRIBUTES[name][1])]
            for name in attributes
        ]
        rest = [entry for name, entry in own_attrs.items() if name not in attributes]
        attr_lines = [line for entry in shared + rest for line in entry]
        doc = _replace_section(doc, "Attributes", attr_lines, pad)
    cls.__doc__ = doc


def _deprecated_entry(names: list[str], renamed: dict[str, str]) -> list[str]:
    """One entry for all the renamed parameters' old names: what each became."""
    news = ", ".join(f"``{renamed[n]}``" for n in names)
    what = "Old name" if len(names) == 1 else "Old names"
    return [
        f"{', '.join(names)} : deprecated",
        *_wrap(f"{what} of {news}, renamed in {RENAMED_IN} and removed in "
               f"{REMOVED_IN}; set the new name instead."),
    ]


def _default(value) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, float) and 0 < abs(value) < 0.01:  # 1e-3, not 0.001
        mantissa, exponent = f"{value:e}".split("e")
        return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    if value is not None and type(value).__name__ == "float" and value != value:
        return "np.nan"
    return repr(value)


def _wrap(text: str) -> list[str]:
    import textwrap

    return ["    " + line for line in textwrap.wrap(text, _WIDTH)]


def _section_span(doc: str, section: str) -> tuple[int, int, bool] | None:
    """Start and end (character offsets) of the body of ``section`` in ``doc``,
    and whether another section follows it."""
    head = re.search(rf"^ *{section}\n *-+\n", doc, flags=re.M)
    if head is None:
        return None
    nxt = re.search(r"^ *[A-Z][\w ]*\n *-{3,}\n", doc[head.end() :], flags=re.M)
    end = head.end() + nxt.start() if nxt else len(doc.rstrip())
    return head.end(), end, nxt is not None


def _entries(doc: str, section: str) -> dict[str, list[str]]:
    """``{name: [type line, description lines...]}`` of a section, dedented."""
    span = _section_span(doc, section)
    if span is None:
        return {}
    body = inspect.cleandoc("\n" + doc[span[0] : span[1]].rstrip())
    out: dict[str, list[str]] = {}
    name = None
    for line in body.splitlines():
        if line and not line[0].isspace():  # an entry's first line
            name = line.split(" : ", 1)[0].strip()
            out[name] = [line]
        elif name is not None and line.strip():
            out[name].append(line)
    return out


def _replace_section(doc: str, section: str, lines: list[str], pad: str) -> str:
    start, end, followed = _section_span(doc, section)
    body = "\n".join(pad + line if line else line for line in lines)
    return doc[:start] + body + ("\n\n" if followed else "") + doc[end:]
