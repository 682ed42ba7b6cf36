"""Benchmark tables and synthetic data with known structure (NumPy / pandas only).

Every loader returns a :class:`Dataset`: the feature table (targets and identifiers
removed), its :class:`~deepimpute.schema.ColumnSpec`, the target if any, a name and a
source string. Categorical features are pandas ``category`` columns.

Where the files are looked for, in order:

1. the ``data_home`` argument;
2. the ``DEEPIMPUTE_DATA`` environment variable;
3. ``../shared/datasets`` relative to the working directory, then a ``shared/datasets``
   folder next to any parent folder of this package (the layout of the development
   checkout).

The first folder that exists is used (1 and 2 are used even if they do not exist, so
a wrong path fails loudly). A missing file raises :class:`FileNotFoundError` naming the
path searched and the public source to download it from. The folder layout is the one
of the project's ``shared/datasets`` (see its README): e.g. ``yeast/yeast.csv``.
Yeast and Heart (Cleveland) also ship inside the package (``deepimpute/data/``, UCI,
CC BY 4.0, see the ``*_LICENSE.txt`` files there) and :func:`load_yeast` and
:func:`load_heart` fall back to them, so their examples run in a bare clone.

Native missing values are NaN; ``docs/methods/protocol.md``, "Datasets" decides how they
are treated (Mushroom's
``stalk_root`` '?' becomes the category ``"?"``, Heart's 6 incomplete rows are
dropped, Adult's are kept as NaN).
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .schema import Categorical, ColumnSpec, Image, Numerical

__all__ = [
    "Dataset",
    "get_data_home",
    "load_yeast",
    "load_white_wine",
    "load_red_wine",
    "load_mushroom",
    "load_phishing",
    "load_heart",
    "load_letter",
    "load_spam",
    "load_adult",
    "load_credit_default",
    "load_mnist",
    "make_mnist_pairs",
    "make_mixed_data",
    "make_gaussian_data",
    "MNIST_PAIRS",
]

ENV_VAR = "DEEPIMPUTE_DATA"
MNIST_PAIRS = ((0, 9), (1, 8), (2, 7), (3, 6), (4, 5))

_UCI = "https://archive.ics.uci.edu/dataset/"
_SOURCES = {
    "yeast": _UCI + "110/yeast",
    "wine_quality": _UCI + "186/wine+quality",
    "mushroom": _UCI + "73/mushroom",
    "phishing": _UCI + "327/phishing+websites",
    "heart_cleveland": _UCI + "45/heart+disease",
    "letter": _UCI + "59/letter+recognition",
    "spambase": _UCI + "94/spambase",
    "adult": _UCI + "2/adult",
    "credit_default": _UCI + "350/default+of+credit+card+clients",
    "mnist": "http://yann.lecun.com/exdb/mnist/",
}
_PKG_DATA = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class Dataset:
    """A table ready for imputation experiments.

    Attributes
    ----------
    frame : DataFrame
        The features (no target, no identifier). Categorical features have
        ``category`` dtype; NaN marks a native missing value.
    spec : ColumnSpec
        The attributes of ``frame``.
    target : Series or None
        The label column, aligned with ``frame``, if the data has one.
    name : str
        Short name, e.g. ``"yeast"``.
    source : str
        The file it was read from (or ``"synthetic"``) and the public source.
    params : mapping
        Generating parameters of synthetic data (e.g. ``mean`` and ``cov``); empty
        for real data.
    """

    frame: pd.DataFrame
    spec: ColumnSpec
    target: pd.Series | None
    name: str
    source: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        return self.frame.shape


# ------------------------------------------------------------------ file lookup
def get_data_home(data_home: str | os.PathLike | None = None) -> Path | None:
    """The data folder that loaders read, or None when none is found.

    ``data_home`` wins, then ``$DEEPIMPUTE_DATA``, then ``../shared/datasets``
    relative to the working directory, then a ``shared/datasets`` folder beside a
    parent of the package.
    """
    if data_home is not None:
        return Path(data_home)
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    cand = Path.cwd().parent / "shared" / "datasets"
    if cand.is_dir():
        return cand
    for parent in Path(__file__).resolve().parents:
        cand = parent / "shared" / "datasets"
        if cand.is_dir():
            return cand
    return None


def _locate(relpath: str, data_home) -> Path:
    home = get_data_home(data_home)
    folder = relpath.split("/")[0]
    url = _SOURCES.get(folder, "the UCI Machine Learning Repository")
    if home is None:
        raise FileNotFoundError(
            f"No data folder found for {relpath!r}: pass data_home=..., set "
            f"${ENV_VAR}, or create ../shared/datasets. Download the data from {url} "
            f"and save it as <data folder>/{relpath}."
        )
    path = home / relpath
    if not path.is_file():
        raise FileNotFoundError(
            f"Data file not found: {path}. Download it from {url} and save it there "
            f"(or point data_home / ${ENV_VAR} at a folder holding {relpath})."
        )
    return path


def _source(path: Path, folder: str) -> str:
    return f"{path} (from {_SOURCES[folder]})"


def _as_category(s: pd.Series) -> pd.Series:
    """Category dtype with sorted categories; NaN stays missing."""
    cats = sorted(s.dropna().unique().tolist())
    return s.astype(pd.CategoricalDtype(cats))


def _numeric_table(
    path: Path, folder: str, name: str, target: str | None, drop=()
) -> Dataset:
    df = pd.read_csv(path)
    y = df.pop(target) if target is not None else None
    df = df.drop(columns=list(drop))
    spec = ColumnSpec([Numerical(c) for c in df.columns])
    return Dataset(df, spec, y, name, _source(path, folder))


# ---------------------------------------------------------------------- loaders
def load_yeast(data_home=None) -> Dataset:
    """UCI Yeast: 1484 rows, 8 numerical attributes; target ``localization_site``.

    The identifier ``sequence_name`` is dropped. Falls back to the copy embedded in
    the package when the data folder does not hold ``yeast/yeast.csv``.
    """
    try:
        path = _locate("yeast/yeast.csv", data_home)
    except FileNotFoundError:
        path = _PKG_DATA / "yeast.csv"
        ds = _numeric_table(
            path, "yeast", "yeast", "localization_site", drop=["sequence_name"]
        )
        return _replace_source(ds, f"embedded copy {path} (from {_SOURCES['yeast']})")
    return _numeric_table(
        path, "yeast", "yeast", "localization_site", drop=["sequence_name"]
    )


def load_white_wine(data_home=None) -> Dataset:
    """UCI Wine Quality, white: 4898 rows, 11 numerical; target ``quality``."""
    path = _locate("wine_quality/wine_white.csv", data_home)
    return _numeric_table(path, "wine_quality", "white_wine", "quality")


def load_red_wine(data_home=None) -> Dataset:
    """UCI Wine Quality, red: 1599 rows, 11 numerical; target ``quality``."""
    path = _locate("wine_quality/wine_red.csv", data_home)
    return _numeric_table(path, "wine_quality", "red_wine", "quality")


def load_mushroom(data_home=None) -> Dataset:
    """UCI Mushroom: 8124 rows, 22 categorical attributes (letters); target ``class``.

    The 2480 native missing ``stalk_root`` values ('?') are the category ``"?"``
    (``docs/methods/protocol.md``, "Datasets"), so the table has no missing value.
    ``veil_type`` is constant.
    """
    path = _locate("mushroom/mushroom.csv", data_home)
    df = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    y = df.pop("class")
    df["stalk_root"] = df["stalk_root"].fillna("?")
    df = df.apply(_as_category)
    spec = ColumnSpec([Categorical(c) for c in df.columns])
    return Dataset(df, spec, y, "mushroom", _source(path, "mushroom"))


def load_phishing(data_home=None) -> Dataset:
    """UCI Phishing Websites: 11055 rows, 30 categorical attributes; target ``Result``.

    Features hold the integer codes -1 / 0 / 1 (``category`` dtype with integer
    categories); the original (misspelt) ARFF names are kept.
    """
    path = _locate("phishing/phishing.csv", data_home)
    df = pd.read_csv(path)
    y = df.pop("Result")
    df = df.apply(_as_category)
    spec = ColumnSpec([Categorical(c) for c in df.columns])
    return Dataset(df, spec, y, "phishing", _source(path, "phishing"))


HEART_CATEGORICAL = ("sex", "cp", "fbs", "restecg", "exang", "slope", "thal")
#: the 14 attributes of UCI's processed Cleveland file, in its order
HEART_COLUMNS = (
    "age", "sex", "cp", "trestbps", "chol", "fbs", "restecg", "thalach", "exang",
    "oldpeak", "slope", "ca", "thal", "num",
)
_HEART_FILES = (
    "heart_cleveland/cleveland.csv", "heart_cleveland/processed.cleveland.data",
)


def _read_heart(path: Path) -> pd.DataFrame:
    """The Cleveland table from UCI's file (no header, ``?`` for missing) or from a
    CSV with the header ``HEART_COLUMNS`` (missing empty or ``?``)."""
    with open(path, encoding="ascii", errors="replace") as fh:
        first = fh.readline().split(",")[0].strip()
    try:
        float(first)
        header = None  # the first line is data: UCI's file as published
    except ValueError:
        header = 0
    df = pd.read_csv(path, header=header, na_values=["?"])
    if header is None:
        if df.shape[1] != len(HEART_COLUMNS):
            raise ValueError(
                f"{path}: expected the {len(HEART_COLUMNS)} comma-separated columns "
                f"of UCI's processed.cleveland.data, found {df.shape[1]}."
            )
        df.columns = list(HEART_COLUMNS)
    elif list(df.columns) != list(HEART_COLUMNS):
        found = ",".join(map(str, df.columns))
        raise ValueError(
            f"{path}: the header must be {','.join(HEART_COLUMNS)} (or no header, as "
            f"in UCI's processed.cleveland.data); found {found}."
        )
    return df


def load_heart(data_home=None, *, drop_incomplete: bool = True) -> Dataset:
    """UCI Heart Disease, Cleveland: 297 rows, 6 numerical + 7 categorical; target
    ``num`` (0-4).

    Reads ``heart_cleveland/cleveland.csv`` or UCI's file as published,
    ``heart_cleveland/processed.cleveland.data`` (no header, ``?`` marks a missing
    value), from the data folder; without either it falls back to the copy embedded
    in the package (``deepimpute/data/heart_cleveland.data``, UCI's file unchanged,
    CC BY 4.0, see ``heart_cleveland_LICENSE.txt``).

    Parameters
    ----------
    data_home : path, optional
        The data folder (see :func:`get_data_home`).
    drop_incomplete : bool, default=True
        Drop the 6 rows with a native missing value (``ca`` in 4, ``thal`` in 2)
        and reset the index, as ``docs/methods/protocol.md`` ("Datasets") does; with
        False the 303 rows are kept with NaN in those cells.

    Returns
    -------
    Dataset
        Numerical: ``age trestbps chol thalach oldpeak ca``; categorical (integer
        categories): ``sex cp fbs restecg exang slope thal``, in the file's order.
    """
    path = None
    for relpath in _HEART_FILES:
        try:
            path = _locate(relpath, data_home)
            break
        except FileNotFoundError:
            continue
    if path is None:
        path = _PKG_DATA / "heart_cleveland.data"
        source = f"embedded copy {path} (from {_SOURCES['heart_cleveland']})"
    else:
        source = _source(path, "heart_cleveland")
    df = _read_heart(path)
    if drop_incomplete:
        df = df.dropna().reset_index(drop=True)
    y = df.pop("num")
    attrs = []
    for c in df.columns:
        if c in HEART_CATEGORICAL:
            df[c] = _as_category(df[c].astype("Int64"))
            attrs.append(Categorical(c))
        else:
            attrs.append(Numerical(c))
    return Dataset(df, ColumnSpec(attrs), y, "heart", source)


def load_letter(data_home=None, *, variant: str = "gain") -> Dataset:
    """UCI Letter Recognition: 20000 rows, 16 numerical (integers 0-15).

    ``variant="gain"`` reads GAIN's ``gain_letter.csv`` (columns ``Cat 1..Cat 16``,
    header whitespace stripped; no target); ``"uci"`` reads ``letter.csv`` with the
    UCI names and target ``lettr``.
    """
    if variant == "gain":
        path = _locate("letter/gain_letter.csv", data_home)
        df = pd.read_csv(path)
        df.columns = [c.strip() for c in df.columns]
        spec = ColumnSpec([Numerical(c) for c in df.columns])
        return Dataset(df, spec, None, "letter", _source(path, "letter"))
    if variant == "uci":
        path = _locate("letter/letter.csv", data_home)
        return _numeric_table(path, "letter", "letter", "lettr")
    raise ValueError(f"variant must be 'gain' or 'uci', got {variant!r}.")


def load_spam(data_home=None, *, variant: str = "gain") -> Dataset:
    """UCI Spambase: 4601 rows, 57 numerical.

    ``variant="gain"`` reads GAIN's ``gain_spam.csv`` (``Cont 1..Cont 57``, no
    target); ``"uci"`` reads ``spambase.csv`` with the UCI names and target
    ``is_spam``.
    """
    if variant == "gain":
        path = _locate("spambase/gain_spam.csv", data_home)
        df = pd.read_csv(path)
        df.columns = [c.strip() for c in df.columns]
        spec = ColumnSpec([Numerical(c) for c in df.columns])
        return Dataset(df, spec, None, "spam", _source(path, "spambase"))
    if variant == "uci":
        path = _locate("spambase/spambase.csv", data_home)
        return _numeric_table(path, "spambase", "spam", "is_spam")
    raise ValueError(f"variant must be 'gain' or 'uci', got {variant!r}.")


ADULT_NUMERICAL = (
    "age",
    "fnlwgt",
    "education_num",
    "capital_gain",
    "capital_loss",
    "hours_per_week",
)


def load_adult(data_home=None, *, subset: str = "train") -> Dataset:
    """UCI Adult: 6 numerical + 8 categorical attributes; target ``income``.

    ``subset``: ``"train"`` (32561 rows), ``"test"`` (16281) or ``"all"`` (both,
    train first, index reset). Native missing values of ``workclass``,
    ``occupation`` and ``native_country`` are kept as NaN. Categories are those
    observed in the rows loaded.
    """
    files = {
        "train": ["adult_train.csv"],
        "test": ["adult_test.csv"],
        "all": ["adult_train.csv", "adult_test.csv"],
    }
    if subset not in files:
        raise ValueError(f"subset must be 'train', 'test' or 'all', got {subset!r}.")
    paths = [_locate(f"adult/{f}", data_home) for f in files[subset]]
    df = pd.concat(
        [pd.read_csv(p, keep_default_na=False, na_values=[""]) for p in paths],
        ignore_index=True,
    )
    y = df.pop("income")
    attrs = []
    for c in df.columns:
        if c in ADULT_NUMERICAL:
            attrs.append(Numerical(c))
        else:
            df[c] = _as_category(df[c])
            attrs.append(Categorical(c))
    source = "; ".join(str(p) for p in paths) + f" (from {_SOURCES['adult']})"
    return Dataset(df, ColumnSpec(attrs), y, f"adult_{subset}", source)


CREDIT_CATEGORICAL = (
    "SEX",
    "EDUCATION",
    "MARRIAGE",
    "PAY_0",
    "PAY_2",
    "PAY_3",
    "PAY_4",
    "PAY_5",
    "PAY_6",
)


def load_credit_default(data_home=None) -> Dataset:
    """UCI Default of Credit Card Clients (GAIN's "Credit"): 30000 rows.

    14 numerical (``LIMIT_BAL AGE BILL_AMT1-6 PAY_AMT1-6``) and 9 categorical
    attributes with integer categories (``SEX EDUCATION MARRIAGE PAY_0 PAY_2..PAY_6``;
    the repayment statuses are ordinal but coded as categories here); ``ID`` dropped;
    target ``default_payment_next_month``.
    """
    path = _locate("credit_default/credit_default.csv", data_home)
    df = pd.read_csv(path).drop(columns=["ID"])
    y = df.pop("default_payment_next_month")
    attrs = []
    for c in df.columns:
        if c in CREDIT_CATEGORICAL:
            df[c] = _as_category(df[c])
            attrs.append(Categorical(c))
        else:
            attrs.append(Numerical(c))
    return Dataset(
        df, ColumnSpec(attrs), y, "credit_default", _source(path, "credit_default")
    )


def _read_idx(path: Path, magic: int, ndim: int) -> np.ndarray:
    with gzip.open(path, "rb") as fh:
        raw = fh.read()
    head = np.frombuffer(raw[: 4 * (1 + ndim)], dtype=">u4")
    if head[0] != magic:
        raise ValueError(f"{path} is not an IDX file of the expected kind.")
    shape = tuple(int(s) for s in head[1:])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 * (1 + ndim))
    return data.reshape(shape)


def _mnist_arrays(data_home):
    img_path = _locate("mnist/t10k-images-idx3-ubyte.gz", data_home)
    lab_path = _locate("mnist/t10k-labels-idx1-ubyte.gz", data_home)
    images = _read_idx(img_path, 2051, 3)
    labels = _read_idx(lab_path, 2049, 1)
    if images.shape[0] != labels.shape[0]:
        raise ValueError("MNIST images and labels disagree in length.")
    return images.reshape(images.shape[0], -1), labels, img_path


def _pixel_frame(pixels: np.ndarray, prefix: str, normalize: bool) -> pd.DataFrame:
    cols = [f"{prefix}{i}" for i in range(pixels.shape[1])]
    vals = pixels.astype(np.float32) / 255.0 if normalize else pixels.copy()
    return pd.DataFrame(vals, columns=cols)


def load_mnist(data_home=None, *, normalize: bool = True) -> Dataset:
    """MNIST test set (10000 digits) as a table: one 28x28 Image attribute.

    Columns ``pixel0..pixel783`` (row-major); values in [0, 1] as float32 with
    ``normalize=True``, else the raw uint8 0-255. Target ``label`` (0-9). Only the 10k
    test images are distributed with the project (see the datasets README).
    """
    pixels, labels, path = _mnist_arrays(data_home)
    df = _pixel_frame(pixels, "pixel", normalize)
    spec = ColumnSpec([Image(tuple(df.columns), (28, 28), name="image")])
    y = pd.Series(labels.astype(np.int64), name="label")
    return Dataset(df, spec, y, "mnist", _source(path, "mnist"))


def make_mnist_pairs(
    data_home=None,
    *,
    pairs=MNIST_PAIRS,
    n_samples: int | None = None,
    normalize: bool = True,
    random_state=None,
) -> Dataset:
    """VSAE's MNIST+MNIST table: each row holds two digit images of a fixed pair.

    For every digit pair ``(a, b)`` (default (0,9), (1,8), (2,7), (3,6), (4,5)) the
    images of digit ``a`` and of digit ``b`` are shuffled independently and matched
    in order, ``min(#a, #b)`` rows per pair, so no image is used twice. The rows of
    all pairs are then shuffled. From the 10k MNIST test images this gives 4832 rows,
    the size of VSAE's MNIST+MNIST test split (App. E.2). Deterministic given
    ``random_state``.

    Parameters
    ----------
    data_home : path, optional
    pairs : sequence of (int, int)
    n_samples : int, optional
        Keep only the first ``n_samples`` rows after shuffling.
    normalize : bool, default=True
        Pixels in [0, 1] (float32) instead of 0-255.
    random_state : None, int or numpy Generator

    Returns
    -------
    Dataset
        ``frame`` has columns ``a_pixel0..783`` then ``b_pixel0..783``, two Image
        attributes ``"digit_a"`` and ``"digit_b"`` of shape (28, 28); ``target`` is
        the digit of the first image (the second is its partner in ``pairs``).
    """
    pixels, labels, path = _mnist_arrays(data_home)
    rng = np.random.default_rng(random_state)
    first, second = [], []
    for a, b in pairs:
        ia = rng.permutation(np.flatnonzero(labels == a))
        ib = rng.permutation(np.flatnonzero(labels == b))
        k = min(ia.size, ib.size)
        first.append(ia[:k])
        second.append(ib[:k])
    first_idx, second_idx = np.concatenate(first), np.concatenate(second)
    order = rng.permutation(first_idx.size)[:n_samples]
    first_idx, second_idx = first_idx[order], second_idx[order]
    fa = _pixel_frame(pixels[first_idx], "a_pixel", normalize)
    fb = _pixel_frame(pixels[second_idx], "b_pixel", normalize)
    df = pd.concat([fa, fb], axis=1)
    spec = ColumnSpec(
        [
            Image(tuple(fa.columns), (28, 28), name="digit_a"),
            Image(tuple(fb.columns), (28, 28), name="digit_b"),
        ]
    )
    y = pd.Series(labels[first_idx].astype(np.int64), name="digit_a")
    params = {
        "pairs": tuple(tuple(p) for p in pairs),
        "first_index": first_idx,
        "second_index": second_idx,
    }
    return Dataset(df, spec, y, "mnist_pairs", _source(path, "mnist"), params)


# --------------------------------------------------------------- synthetic data
def make_mixed_data(
    n_samples: int = 500,
    random_state=None,
    *,
    n_numerical: int = 4,
    n_categorical: int = 3,
    n_categories: int = 3,
    n_latent: int = 2,
    noise: float = 0.3,
) -> Dataset:
    """A mixed table driven by Gaussian latent factors (known structure, for tests).

    ``z ~ N(0, I_k)``; numerical column j is ``z @ W_j + noise * e`` with
    ``W ~ N(0, 1)``; categorical column c is ``argmax(z @ V_c + noise * e)`` over
    ``n_categories`` scores, with labels ``"c0", "c1", ...`` (``category`` dtype).
    Columns are ``num0..``, then ``cat0..``. Since every column is a function of the
    same few factors, a good imputer beats the column mean / mode clearly.

    Returns
    -------
    Dataset
        ``params`` holds ``W``, ``V`` and the latent ``Z``; ``target`` is None.
    """
    rng = np.random.default_rng(random_state)
    Z = rng.standard_normal((n_samples, n_latent))
    W = rng.standard_normal((n_latent, n_numerical))
    num = Z @ W + noise * rng.standard_normal((n_samples, n_numerical))
    data: dict[str, Any] = {f"num{j}": num[:, j] for j in range(n_numerical)}
    V = rng.standard_normal((n_categorical, n_latent, n_categories))
    labels = np.array([f"c{k}" for k in range(n_categories)], dtype=object)
    for c in range(n_categorical):
        scores = Z @ V[c] + noise * rng.standard_normal((n_samples, n_categories))
        data[f"cat{c}"] = pd.Categorical(
            labels[scores.argmax(axis=1)], categories=list(labels)
        )
    df = pd.DataFrame(data)
    attrs = [Numerical(f"num{j}") for j in range(n_numerical)]
    attrs += [Categorical(f"cat{c}") for c in range(n_categorical)]
    return Dataset(
        df,
        ColumnSpec(attrs),
        None,
        "mixed",
        "synthetic",
        {"W": W, "V": V, "Z": Z, "noise": noise},
    )


def make_gaussian_data(
    n_samples: int = 500,
    n_features: int = 5,
    random_state=None,
    *,
    mean=None,
    cov=None,
    n_factors: int = 2,
) -> Dataset:
    """Draws from a multivariate Gaussian with known mean and covariance.

    By default ``mean ~ N(0, 1)`` per feature and ``cov = L L^T + diag(psi)`` with
    ``L ~ N(0, 1)`` of shape (n_features, n_factors) and ``psi ~ U(0.1, 0.5)``, i.e.
    strongly correlated columns. ``params`` holds ``mean`` and ``cov`` for the oracle
    :func:`deepimpute.metrics.gaussian_conditional_mean`. Columns ``x0, x1, ...``.
    """
    rng = np.random.default_rng(random_state)
    if mean is None:
        mean = rng.standard_normal(n_features)
    if cov is None:
        L = rng.standard_normal((n_features, n_factors))
        cov = L @ L.T + np.diag(rng.uniform(0.1, 0.5, n_features))
    mean = np.asarray(mean, dtype=np.float64)
    cov = np.asarray(cov, dtype=np.float64)
    if mean.shape != (n_features,) or cov.shape != (n_features, n_features):
        raise ValueError("mean and cov must match n_features.")
    X = rng.multivariate_normal(mean, cov, size=n_samples, method="cholesky")
    df = pd.DataFrame(X, columns=[f"x{j}" for j in range(n_features)])
    spec = ColumnSpec([Numerical(c) for c in df.columns])
    return Dataset(df, spec, None, "gaussian", "synthetic", {"mean": mean, "cov": cov})


def _replace_source(ds: Dataset, source: str) -> Dataset:
    from dataclasses import replace

    return replace(ds, source=source)
