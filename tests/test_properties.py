"""Property-based contract of every imputer on random real-world frames.

Hypothesis draws mixed DataFrames (float, extreme magnitudes, nullable Int/UInt/
Float/boolean, pandas ``str`` and ``string`` dtypes, object strings, categories with
unused levels, object bools with None, naive and tz-aware datetimes with NaT,
durations, periods; Arrow-backed columns (numbers, booleans, strings,
dictionaries, binary, dates, timestamps naive and tz-aware, durations, times)
and pandas Sparse columns; integer, string or mixed column labels; range, shuffled,
string or duplicated row labels) and holes anywhere, including whole rows and
whole columns at transform time. For every imputer of ``tests/instances.py`` it
checks: the input is not mutated, the output has the input's type, columns,
index and dtypes, observed entries are bit-identical, no cell is left missing,
categorical cells hold only categories observed at fit, and a second fit with the
same ``random_state`` gives the same output. An imputer may instead refuse the
data with a ``ValueError`` that names the offending column.

Each column keeps at least two observed cells at fit: what to do with a column
that is empty at fit is ``keep_empty_features``'s business (tested with the
scikit-learn imputer parameters), not a property of the encoder.

Profiles (environment variable ``DEEPIMPUTE_PROPERTY_PROFILE``):

* ``default``: a few derandomized examples per imputer, part of the default run;
* ``slow`` (alias ``ci``): 200 random examples per imputer, e.g.
  ``DEEPIMPUTE_PROPERTY_PROFILE=slow python -m pytest tests/test_properties.py``.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from instances import CLASSES, tiny

_COMMON = dict(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile(
    "deepimpute-default", max_examples=10, derandomize=True, **_COMMON
)
settings.register_profile("deepimpute-slow", max_examples=200, **_COMMON)
_PROFILE = os.environ.get("DEEPIMPUTE_PROPERTY_PROFILE", "default")
_PROFILE = {"ci": "slow"}.get(_PROFILE, _PROFILE)
if _PROFILE not in ("default", "slow"):
    raise ValueError(
        f"DEEPIMPUTE_PROPERTY_PROFILE={_PROFILE!r}; use 'default', 'slow' or 'ci'."
    )
PROFILE = settings.get_profile(f"deepimpute-{_PROFILE}")

KINDS = (
    "float",
    "extreme",
    "Int64",
    "Int8",
    "UInt8",
    "UInt64",
    "Float64",
    "float32",
    "boolean",
    "string",
    "str",
    "object",
    "category",
    "objbool",
    "datetime",
    "datetime_tz",
    "timedelta",
    "period",
    # Arrow-backed pandas columns and Sparse (issue 31)
    "arrow_float",
    "arrow_int",
    "arrow_bool",
    "string_pyarrow",
    "arrow_string",
    "arrow_dict",
    "arrow_binary",
    "arrow_date",
    "arrow_timestamp",
    "arrow_timestamp_tz",
    "arrow_duration",
    "arrow_time",
    "sparse",
)
CATEGORICAL_KINDS = {
    "boolean", "string", "str", "object", "category", "objbool",
    "arrow_bool", "string_pyarrow", "arrow_string", "arrow_dict", "arrow_binary",
}


def _column(kind: str, n: int, r: np.random.Generator, magnitude: float) -> pd.Series:
    """``n`` complete values of one kind (holes are punched afterwards)."""
    if kind.startswith("arrow_") or kind in ("string_pyarrow", "sparse"):
        return _arrow_or_sparse_column(kind, n, r)
    if kind == "float":
        return pd.Series(r.normal(size=n))
    if kind == "extreme":
        return pd.Series(r.uniform(-1.0, 1.0, n) * magnitude)
    if kind in ("Int64", "Int8"):
        return pd.Series(pd.array(r.integers(-100, 100, n), dtype=kind))
    if kind == "UInt8":
        return pd.Series(pd.array(r.integers(0, 2, n), dtype=kind))
    if kind == "UInt64":
        edges = np.array([0, 2**64 - 1, 2**63, 17], dtype=np.uint64)
        return pd.Series(pd.array(edges[r.integers(0, 4, n)], dtype=kind))
    if kind == "Float64":
        return pd.Series(pd.array(r.normal(size=n) * 10, dtype=kind))
    if kind == "float32":
        return pd.Series(r.normal(size=n).astype(np.float32))
    if kind == "boolean":
        return pd.Series(pd.array(r.random(n) < 0.5, dtype="boolean"))
    words = np.array(["alpha", "beta", "gamma", ""])[r.integers(0, 3, n)]
    if kind == "string":
        return pd.Series(words, dtype="string")
    if kind == "str":
        return pd.Series(words, dtype="str")
    if kind == "object":
        return pd.Series(words.astype(object), dtype=object)
    if kind == "category":
        cats = ["unused0", "alpha", "beta", "unused1", "gamma", "unused2"]
        return pd.Series(pd.Categorical(words, categories=cats))
    if kind == "objbool":
        return pd.Series((r.random(n) < 0.5).astype(object), dtype=object)
    days = pd.to_timedelta(r.integers(0, 5000, n), unit="D")
    if kind == "datetime":
        return pd.Series(pd.Timestamp("1990-01-01") + days)
    if kind == "datetime_tz":
        return pd.Series((pd.Timestamp("1990-01-01") + days).tz_localize("Asia/Tokyo"))
    if kind == "timedelta":
        return pd.Series(pd.to_timedelta(r.integers(0, 10**6, n), unit="s"))
    if kind == "period":
        return pd.Series(pd.PeriodIndex.from_ordinals(r.integers(0, 600, n), freq="M"))
    raise AssertionError(kind)


def _arrow_or_sparse_column(kind: str, n: int, r: np.random.Generator) -> pd.Series:
    import pyarrow as pa

    def arrow(values, pa_type):
        return pd.Series(pd.arrays.ArrowExtensionArray(pa.array(values, type=pa_type)))

    ints = r.integers(0, 5000, n)
    words = np.array(["alpha", "beta", "gamma", ""])[r.integers(0, 3, n)]
    if kind == "arrow_float":
        return arrow(r.normal(size=n), pa.float64())
    if kind == "arrow_int":
        return arrow(ints - 2500, pa.int32())
    if kind == "arrow_bool":
        return arrow(r.random(n) < 0.5, pa.bool_())
    if kind == "string_pyarrow":
        return pd.Series(words, dtype="string[pyarrow]")
    if kind == "arrow_string":
        return arrow(words, pa.large_string())
    if kind == "arrow_dict":
        return arrow(words, pa.string()).astype(
            pd.ArrowDtype(pa.dictionary(pa.int8(), pa.string()))
        )
    if kind == "arrow_binary":
        return arrow([w.encode() for w in words], pa.binary())
    if kind == "arrow_date":
        return arrow(ints.astype(np.int32), pa.date32())
    if kind == "arrow_timestamp":
        return arrow(ints * 86_400_000 + 1, pa.timestamp("ms"))
    if kind == "arrow_timestamp_tz":
        return arrow(ints * 86_400 * 10**6, pa.timestamp("us", tz="America/New_York"))
    if kind == "arrow_duration":
        return arrow(ints, pa.duration("s"))
    if kind == "arrow_time":
        return arrow((ints * 17).astype(np.int32), pa.time32("s"))
    if kind == "sparse":
        values = np.where(r.random(n) < 0.6, 0.0, r.normal(size=n))
        return pd.Series(pd.arrays.SparseArray(values, fill_value=0.0))
    raise AssertionError(kind)


def _punch(s: pd.Series, holes: np.ndarray) -> pd.Series:
    """``s`` with the cells of ``holes`` missing, in the dtype's own marker."""
    if s.dtype == object:  # None, as a user's object column would hold
        out = s.copy()
        out[holes] = None
        return out
    return s.mask(holes)


@st.composite
def frames(draw):
    """``(X_fit, X_transform, kinds)``: two frames of the same columns."""
    n = draw(st.integers(4, 24))
    p = draw(st.integers(1, 5))
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=p, max_size=p))
    seed = draw(st.integers(0, 2**32 - 1))
    labels = draw(st.sampled_from(["int", "str", "mixed", "clash"]))
    index = draw(st.sampled_from(["range", "shuffled", "str", "duplicated"]))
    rate = draw(st.sampled_from([0.0, 0.2, 0.5]))
    magnitude = draw(st.sampled_from([1e308, 1e155, 1e-300, 1e-320, 1.0]))
    r = np.random.default_rng(seed)

    # at fit: holes anywhere, a few whole rows among them
    whole_rows = r.random(n) < 0.15
    if (~whole_rows).sum() < 2:
        whole_rows[:] = False
    cols = {}
    for j, kind in enumerate(kinds):
        s = _column(kind, n, r, magnitude)
        holes = (r.random(n) < rate) | whole_rows
        keep = r.choice(np.flatnonzero(~whole_rows), 2, replace=False)
        holes[keep] = False  # two observed cells per column
        cols[j] = _punch(s, holes)
    X = pd.DataFrame(cols)
    X.columns = {
        "int": list(range(p))[::-1],  # integer, not positions
        "str": [f"c{j}" for j in range(p)],
        "mixed": [j if j % 2 else f"c{j}" for j in range(p)],
        "clash": [j // 2 if j % 2 == 0 else str(j // 2) for j in range(p)],  # 0, "0"
    }[labels]
    X.index = {
        "range": pd.RangeIndex(n),
        "shuffled": pd.Index(r.permutation(n) * 7 + 3),
        "str": pd.Index([f"r{i}" for i in range(n)]),
        "duplicated": pd.Index(r.integers(0, max(n // 2, 1), n)),
    }[index]

    # at transform: fresh holes, some whole rows and a whole column missing
    Y = X.copy()
    for j in range(p):
        Y.isetitem(j, _punch(Y.iloc[:, j], r.random(n) < 0.3))
    whole_rows = r.random(n) < 0.2
    for j in range(p):
        Y.isetitem(j, _punch(Y.iloc[:, j], whole_rows))
    if draw(st.booleans()):
        j = int(r.integers(p))
        Y.isetitem(j, _punch(Y.iloc[:, j], np.ones(n, dtype=bool)))
    return X, Y, kinds


def _observed_equal(X: pd.DataFrame, out: pd.DataFrame) -> None:
    for j in range(X.shape[1]):
        x, o = X.iloc[:, j], out.iloc[:, j]
        obs = x.notna().to_numpy()
        if isinstance(x.dtype, np.dtype) and x.dtype.kind == "f":
            # bit for bit (-0.0 and 0.0 included)
            bits = x.to_numpy()[obs].view(np.uint8)
            np.testing.assert_array_equal(o.to_numpy()[obs].view(np.uint8), bits)
        else:
            pd.testing.assert_series_equal(o[obs], x[obs], check_exact=True)


def _check_output(X: pd.DataFrame, out, fit_frame: pd.DataFrame, kinds) -> None:
    assert type(out) is pd.DataFrame
    assert list(out.columns) == list(X.columns)
    assert [type(c) for c in out.columns] == [type(c) for c in X.columns]
    assert out.index.equals(X.index) and list(out.index) == list(X.index)
    assert list(out.dtypes) == list(X.dtypes)
    assert not out.isna().to_numpy().any(), "a cell is left missing"
    _observed_equal(X, out)
    for j, kind in enumerate(kinds):
        if kind in CATEGORICAL_KINDS:
            known = set(fit_frame.iloc[:, j].dropna().tolist())
            assert set(out.iloc[:, j].tolist()) <= known, "an unseen category"


def _names_a_column(msg: str, X: pd.DataFrame) -> bool:
    return any(repr(c) in msg or f"column {c}" in msg for c in X.columns)


@pytest.mark.filterwarnings("ignore:.*are pandas Sparse:UserWarning")
@pytest.mark.parametrize("name", sorted(CLASSES))
@PROFILE
@given(data=frames())
def test_contract_on_random_frames(name, data):
    X, Y, kinds = data
    X_before, Y_before = X.copy(deep=True), Y.copy(deep=True)
    est = tiny(name)
    try:
        est.fit(X)
    except ValueError as exc:  # a refusal must say which column
        assert _names_a_column(str(exc), X), str(exc)
        return
    pd.testing.assert_frame_equal(X, X_before, check_exact=True)
    # fit_transform may return the fit's own imputation (MICE, MissForest, RVI)
    _check_output(X, tiny(name).fit_transform(X), X, kinds)
    pd.testing.assert_frame_equal(X, X_before, check_exact=True)
    for frame in (X, Y):
        out = est.transform(frame)
        _check_output(frame, out, X, kinds)
    pd.testing.assert_frame_equal(Y, Y_before, check_exact=True)
    # reproducible: a fresh fit with the same random_state
    again = tiny(name).fit(X).transform(Y)
    pd.testing.assert_frame_equal(again, est.transform(Y), check_exact=True)
    try:
        draws = est.sample(Y, n_draws=1, random_state=0)
    except NotImplementedError:
        return
    _check_output(Y, draws[0], X, kinds)
    pd.testing.assert_frame_equal(Y, Y_before, check_exact=True)
