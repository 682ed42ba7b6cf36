"""Model files that run no code when loaded: :func:`save` and :func:`load`.

``pickle`` and ``joblib`` files can run any code while they load (an object's
``__reduce__`` may name ``os.system``), so a model file from someone else must not
be loaded with them. :func:`save` writes a fitted imputer (or any object built from
the package's types) as a pickle in which every tensor is stored as a plain array,
and :func:`load` reads it with an unpickler that only builds the types named in
``TRUSTED_CLASS_MODULES`` and ``TRUSTED_NAMES`` (the classes and
reconstruction helpers the package's fitted imputers are made of, as
scikit-learn's ``skops`` does with its trusted types):
any other name in the file is refused before anything is built. Tensors come back
through ``torch.from_numpy``, never through ``torch.load``.

Files are written to a temporary name in the same folder and renamed, so an
interrupted ``save`` leaves the previous file whole.
"""

from __future__ import annotations

import io
import os
import pickle
import tempfile

import numpy as np

__all__ = [
    "TRUSTED_CLASS_MODULES",
    "TRUSTED_NAMES",
    "UntrustedModelError",
    "load",
    "save",
]

#: the first bytes of a file written by :func:`save`, then its format version
MAGIC = b"DEEPIMPUTE-MODEL\n"
VERSION = 1


class UntrustedModelError(pickle.UnpicklingError):
    """A model file names a type or function outside the trusted ones (it could
    run code)."""


#: module prefixes whose classes (types) are trusted: the package's own and the
#: building blocks of its fitted models; functions from them are not (only those
#: of ``TRUSTED_NAMES``)
TRUSTED_CLASS_MODULES = (
    "deepimpute.",
    "sklearn.",
    "torch.nn.modules.",
    "torch.nn.parameter",
    "numpy",
    "pandas.core.dtypes.dtypes",
    "pandas.core.arrays.integer",
    "pandas.core.arrays.floating",
    "pandas.core.arrays.boolean",
    "pandas.core.arrays.string_",
    "pandas.core.arrays.numeric",
    "pandas.arrays",  # public arrays (ArrowStringArray, ...) are labelled so
    "pandas.core.indexes.",
    "pandas._libs.tslibs",
    "collections",
    "datetime",
)

#: the functions a pickle of those objects calls to rebuild them, and constants
TRUSTED_NAMES = frozenset({
    "pandas.NA",
    "pandas._libs.missing.NA",
    "pandas.NaT",
    "builtins.complex",
    "builtins.frozenset",
    "builtins.set",
    "builtins.slice",
    "builtins.range",
    "builtins.object",
    "builtins.bytearray",
    "copyreg._reconstructor",
    "copyreg.__newobj__",
    "numpy.core.multiarray._reconstruct",
    "numpy._core.multiarray._reconstruct",
    "numpy.core.multiarray.scalar",
    "numpy._core.multiarray.scalar",
    "numpy.core.numeric._frombuffer",
    "numpy._core.numeric._frombuffer",
    "numpy.dtype",
    "numpy.ndarray",
    "numpy.random._pickle.__randomstate_ctor",
    "numpy.random._pickle.__generator_ctor",
    "numpy.random._pickle.__bit_generator_ctor",
    "torch.device",
    "torch.Size",
    "pandas.core.indexes.base._new_Index",
    "pandas._libs.tslibs.timestamps._unpickle_timestamp",
    "pandas._libs.tslibs.timedeltas._timedelta_unpickle",
    "pandas._libs.tslibs.nattype.__nat_unpickle",
    "pandas._libs.tslibs.offsets._unpickle_offset",
    # Arrow-backed pandas arrays rebuild from a type name and raw buffers
    "pyarrow.lib._restore_array",
    "pyarrow.lib.type_for_alias",
    "pyarrow.lib.py_buffer",
})



def _is_trusted(module: str, name: str, obj) -> bool:
    full = f"{module}.{name}"
    if full in TRUSTED_NAMES:
        return True
    if module == "torch" and _is_torch_dtype(obj):
        return True
    if not isinstance(obj, type):
        return False
    # a class may still run code through its constructor or __setstate__; only
    # the package's and its building blocks' classes are accepted
    if module == "builtins":
        return obj in (dict, list, tuple, set, frozenset, int, float, str, bytes,
                       bool, complex, slice, range, object, bytearray, type(None))
    home = obj.__module__ or ""  # where the class is defined, not re-exported
    if home == "pandas":  # pandas' public classes, re-labelled "pandas"
        return obj.__name__.endswith(("Dtype", "Index")) or obj.__name__ in (
            "Timestamp", "Timedelta", "Period", "Interval", "NaTType", "NAType"
        )
    return any(
        home == prefix.rstrip(".") or home.startswith(prefix)
        for prefix in TRUSTED_CLASS_MODULES
    ) and not _dangerous(obj)


def _dangerous(cls: type) -> bool:
    """Classes of trusted modules that still touch files or processes."""
    if (cls.__module__ or "").startswith("deepimpute."):
        return False
    name = cls.__qualname__.lower()
    return any(word in name for word in ("memmap", "file", "pool", "popen"))


def _is_torch_dtype(obj) -> bool:
    import torch

    return isinstance(obj, torch.dtype)


class _Pickler(pickle.Pickler):
    """Stores every torch tensor as a NumPy array (never torch's own pickle,
    whose load runs ``torch.load`` with arbitrary objects)."""

    def persistent_id(self, obj):
        import torch

        if not isinstance(obj, torch.Tensor):
            return None
        t = obj.detach().cpu().contiguous()
        dtype = str(t.dtype).removeprefix("torch.")
        try:
            data = t.numpy()
        except TypeError:  # bfloat16 and others NumPy lacks: their bits
            bits = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}
            data = t.view(bits[t.element_size()]).numpy()
        kind = "parameter" if isinstance(obj, torch.nn.Parameter) else "tensor"
        return ("torch", kind, dtype, bool(obj.requires_grad), data)


class _Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        try:
            obj = super().find_class(module, name)
        except (AttributeError, ImportError, ModuleNotFoundError) as exc:
            raise UntrustedModelError(
                f"the file names {module}.{name}, which is not available here"
            ) from exc
        if not _is_trusted(module, name, obj):
            raise UntrustedModelError(
                f"the file names {module}.{name}, which is not among the types a "
                "deepimpute model is built from; it was not loaded (it could run "
                "code)"
            )
        return obj

    def persistent_load(self, pid):
        import torch

        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "torch"):
            raise UntrustedModelError(f"unknown reference {pid!r} in the file")
        _, kind, dtype, requires_grad, data = pid
        if not isinstance(data, np.ndarray) or data.dtype == object:
            raise UntrustedModelError("a tensor of the file is not a numeric array")
        want = getattr(torch, str(dtype), None)
        if not isinstance(want, torch.dtype):
            raise UntrustedModelError(f"unknown tensor type {dtype!r} in the file")
        t = torch.from_numpy(np.array(data, copy=True))
        if t.dtype != want:
            t = t.view(want)
        if kind == "parameter":
            return torch.nn.Parameter(t, requires_grad=requires_grad)
        return t.requires_grad_(requires_grad) if requires_grad else t


def dumps(obj) -> bytes:
    """The bytes of a model file holding ``obj`` (see :func:`save`)."""
    buffer = io.BytesIO()
    buffer.write(MAGIC + f"{VERSION}\n".encode())
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buffer.getvalue()


def loads(data: bytes):
    """The object of a model file's bytes (see :func:`load`)."""
    if not data.startswith(MAGIC):
        raise UntrustedModelError(
            "not a model file written by deepimpute.persistence.save or "
            "'deepimpute fit'"
        )
    rest = data[len(MAGIC) :]
    line, _, body = rest.partition(b"\n")
    if line != str(VERSION).encode():
        raise UntrustedModelError(
            f"model file format {line.decode(errors='replace')!r}; this deepimpute "
            f"reads format {VERSION}"
        )
    return _Unpickler(io.BytesIO(body)).load()


def save(obj, path) -> None:
    """Write ``obj`` (a fitted imputer) to ``path`` as a model file that
    :func:`load` reads without running code.

    The file is written under a temporary name in the same folder and renamed
    when complete, so an interrupted save leaves any previous file whole.

    Parameters
    ----------
    obj : object
        A fitted imputer of the package (or an object made of the trusted
        types).
    path : str or path-like
        Where to write.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from deepimpute import MeanModeImputer
    >>> from deepimpute.persistence import load, save
    >>> imp = MeanModeImputer().fit(np.array([[1.0, np.nan], [3.0, 4.0]]))
    >>> path = os.path.join(tempfile.mkdtemp(), "mean.dimp")
    >>> save(imp, path)
    >>> load(path).transform(np.array([[np.nan, np.nan]]))
    array([[2., 4.]])
    """
    write_atomic(path, dumps(obj))


def load(path):
    """Read a model file written by :func:`save` (or ``deepimpute fit``).

    Only the trusted types are built (classes of ``TRUSTED_CLASS_MODULES``,
    functions and constants of ``TRUSTED_NAMES``); a file naming any other (a
    pickle made to run a command, say) raises :class:`UntrustedModelError`
    before anything runs. A fitted imputer is loaded on the CPU when the device
    it was fitted on is absent.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save`.

    Returns
    -------
    object
        The saved object.
    """
    with open(path, "rb") as f:
        return loads(f.read())


def write_atomic(path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file renamed at the end."""
    folder = os.path.dirname(os.path.abspath(os.fspath(path)))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".deepimpute-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
