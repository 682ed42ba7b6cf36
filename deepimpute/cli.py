"""Command line: ``deepimpute impute`` cleans a CSV file, ``deepimpute demo`` compares.

Examples
--------
deepimpute impute data.csv -o clean.csv --method vsae
deepimpute impute pairs.csv -o clean.csv --image a_=28x28 --image b_=28x28
deepimpute demo            # embedded yeast table, 50 % MCAR, every imputer
"""

from __future__ import annotations

import argparse
import ast
import math
import sys
import time
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["main"]

#: per-method settings for the demo (moderate epochs on a laptop CPU)
DEMO_PARAMS: dict[str, dict] = {
    "vae": dict(max_iter=150, n_importance=200),
    "vsae": dict(max_iter=150, n_importance=200),
    "miwae": dict(max_iter=150, n_importance=200),
    "hivae": dict(max_iter=150),
    "rvi": dict(max_iter=150),
    "vad": dict(max_iter=150),
    "factvae": dict(max_iter=150),
    "gain": dict(max_iter=150),
    "misgan": dict(max_iter=100),
    "missforest": dict(),
    "mice": dict(),
}
QUICK_ITER = 3


def _build(name: str, *, quick: bool, seed: int, device: str, verbose: int = 0):
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer

    from .imputers import IMPUTERS, SklearnImputerAdapter

    if name == "sklearn-iterative":
        return SklearnImputerAdapter(
            IterativeImputer(max_iter=3 if quick else 10), random_state=seed
        )
    cls = IMPUTERS[name]
    params = cls().get_params()
    kwargs = dict(DEMO_PARAMS.get(name, {}))
    if quick:
        for key, value in (
            ("max_iter", QUICK_ITER),
            ("n_importance", 20),
            ("n_estimators", 10),
        ):
            if key in params:
                kwargs[key] = value
    for key, value in (
        ("random_state", seed),
        ("device", device),
        ("verbose", verbose),
    ):
        if key in params:
            kwargs[key] = value
    return cls(**{k: v for k, v in kwargs.items() if k in params})


def _method_names() -> list[str]:
    from .imputers import IMPUTERS

    return sorted(IMPUTERS)


# ------------------------------------------------------------------- impute
def _parse_params(items: Sequence[str] | None, imputer) -> dict:
    """``KEY=VALUE`` strings to estimator parameters (values as Python literals,
    else strings); a key the estimator does not have is an error naming it."""
    valid = imputer.get_params()
    params = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"--param expects KEY=VALUE, got {item!r}.")
        if key not in valid or key == "column_spec":
            names = ", ".join(sorted(k for k in valid if k != "column_spec"))
            raise ValueError(
                f"--param {key}: {type(imputer).__name__} has no parameter "
                f"{key!r}; its parameters are: {names}."
            )
        try:
            params[key] = ast.literal_eval(raw.strip())
        except (ValueError, SyntaxError):
            params[key] = raw.strip()  # a bare word such as gaussian
    return params


def _image_groups(items: Sequence[str] | None, columns) -> list:
    """``PREFIX=HxW`` strings to :class:`Image` attributes over the columns whose
    names start with ``PREFIX`` (in file order)."""
    from . import Image

    images, taken = [], set()
    for item in items or []:
        prefix, sep, shape_text = item.partition("=")
        try:
            shape = tuple(int(v) for v in shape_text.lower().split("x"))
        except ValueError:
            shape = ()
        if not sep or not prefix or not shape or min(shape) < 1:
            raise ValueError(f"--image expects PREFIX=HxW (e.g. px_=28x28), got "
                             f"{item!r}.")
        cols = [c for c in columns if str(c).startswith(prefix)]
        if math.prod(shape) != len(cols):
            raise ValueError(
                f"--image {item}: {len(cols)} columns start with {prefix!r}, but "
                f"shape {shape_text} needs {math.prod(shape)}."
            )
        if taken & set(cols):
            raise ValueError(f"--image {item}: columns already in another image.")
        taken |= set(cols)
        images.append(Image(cols, shape=shape, name=prefix))
    return images


def _cmd_impute(args: argparse.Namespace) -> int:
    from . import ColumnSpec

    try:
        df = pd.read_csv(args.input, sep=args.sep)
    except (OSError, pd.errors.ParserError) as exc:
        print(f"deepimpute: cannot read {args.input}: {exc}", file=sys.stderr)
        return 2
    categorical = [c for c in (args.categorical or "").split(",") if c]
    unknown = [c for c in categorical if c not in df.columns]
    if unknown:
        print(
            f"deepimpute: --categorical names unknown columns {unknown}",
            file=sys.stderr,
        )
        return 2
    for col in categorical:
        df[col] = df[col].astype("category")
    try:
        images = _image_groups(args.image, df.columns)
    except ValueError as exc:
        print(f"deepimpute: {exc}", file=sys.stderr)
        return 2
    in_images = {c for a in images for c in a.columns}
    rest = [c for c in df.columns if c not in in_images]
    tables = ColumnSpec.infer(df[rest], max_levels=args.max_levels) if rest else []
    spec = ColumnSpec([*tables, *images])
    missing = df.isna()
    imputer = _build(
        args.method,
        quick=False,
        seed=args.seed,
        device=args.device,
        verbose=0 if args.quiet else 1,
    )
    if args.max_iter is not None and "max_iter" in imputer.get_params():
        imputer.set_params(max_iter=args.max_iter)
    try:
        imputer.set_params(column_spec=spec, **_parse_params(args.param, imputer))
    except ValueError as exc:
        print(f"deepimpute: {exc}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    try:
        out = imputer.fit_transform(df)
    except (ValueError, TypeError) as exc:
        print(f"deepimpute: {exc}", file=sys.stderr)
        return 2
    seconds = time.perf_counter() - start
    out.to_csv(args.output, index=False, sep=args.sep)
    if not args.quiet:
        counts = missing.sum()
        print(
            f"{args.method}: imputed {int(counts.sum())} cells of "
            f"{df.shape[0]} rows x {df.shape[1]} columns in {seconds:.1f} s "
            f"-> {args.output}"
        )
        for attr in spec:  # per attribute: an image is one line, not one per pixel
            n = int(counts[list(attr.columns)].sum())
            if n:
                print(f"  {attr.name!s:<30} {attr.kind:<12} {n:>7} imputed")
    return 0


# --------------------------------------------------------------------- demo
def _cmd_demo(args: argparse.Namespace) -> int:
    from sklearn.exceptions import ConvergenceWarning

    from .datasets import load_yeast
    from .metrics import score_imputation
    from .missingness import simulate_missing

    data = load_yeast()
    X = data.frame
    X_miss, hidden = simulate_missing(
        X, "mcar", args.rate, spec=data.spec, random_state=args.seed
    )
    names = args.methods or (["sklearn-iterative"] + _method_names())
    print(
        f"{data.name}: {X.shape[0]} rows x {X.shape[1]} columns, "
        f"{hidden.mean():.0%} of cells hidden (MCAR), seed {args.seed}"
        + (" [quick]" if args.quick else "")
    )
    rows = []
    for name in names:
        imputer = _build(name, quick=args.quick, seed=args.seed, device=args.device)
        start = time.perf_counter()
        with warnings.catch_warnings():
            # a capped number of rounds is the point of a quick comparison
            warnings.simplefilter("ignore", ConvergenceWarning)
            X_imp = imputer.fit_transform(X_miss)
        seconds = time.perf_counter() - start
        s = score_imputation(X, X_imp, missing=hidden, spec=data.spec)
        rows.append((name, s["nrmse_pooled_raw"], s["nrmse_per_feature"], seconds))
        print(f"  done {name:<18} {seconds:7.1f} s", file=sys.stderr)
    print()
    print("| imputer | NRMSE pooled (raw) | NRMSE per feature | seconds |")
    print("|---|---|---|---|")
    for name, a, b, sec in sorted(rows, key=lambda r: r[2]):
        print(f"| {name} | {a:.4f} | {b:.4f} | {sec:.1f} |")
    print(
        "\nLower is better; the column mean scores about 1.0 per feature. "
        "Fitted transductively on the masked table (see benchmarks/ for the "
        "train/test protocol)."
    )
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from .imputers import IMPUTERS

    for name in _method_names():
        doc = (IMPUTERS[name].__doc__ or "").strip().splitlines()[0]
        print(f"{name:<12} {IMPUTERS[name].__name__:<22} {doc}")
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="deepimpute", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    imp = sub.add_parser("impute", help="impute the missing cells of a CSV file")
    imp.add_argument("input", help="CSV file; empty fields are missing")
    imp.add_argument("-o", "--output", required=True, help="CSV file to write")
    imp.add_argument("--method", default="vsae", choices=_method_names())
    imp.add_argument(
        "--categorical",
        help="comma-separated columns to treat as "
        "categorical (strings are categorical anyway)",
    )
    imp.add_argument(
        "--max-levels",
        type=int,
        default=None,
        help="integer columns with at most this many values are categorical",
    )
    imp.add_argument(
        "--image",
        action="append",
        metavar="PREFIX=HxW",
        help="the columns whose names start with PREFIX form one image of HxW "
        "pixels, in row-major order (repeatable; any value range: the block is "
        "scaled by its observed minimum and maximum); other columns are inferred",
    )
    imp.add_argument("--max-iter", type=int, default=None, help="training epochs")
    imp.add_argument(
        "--param",
        action="append",
        metavar="KEY=VALUE",
        help="an estimator parameter (repeatable), e.g. --param impute_draws=32; "
        "values are Python literals (numbers, tuples, True) or bare strings",
    )
    imp.add_argument("--sep", default=",")
    imp.add_argument("--seed", type=int, default=0)
    imp.add_argument("--device", default="auto")
    imp.add_argument("-q", "--quiet", action="store_true")
    imp.set_defaults(func=_cmd_impute)

    demo = sub.add_parser("demo", help="compare the imputers on the embedded table")
    demo.add_argument("--rate", type=float, default=0.5)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--methods", nargs="*", help="subset of imputers")
    demo.add_argument("--quick", action="store_true", help="tiny epochs (smoke test)")
    demo.add_argument("--device", default="auto")
    demo.set_defaults(func=_cmd_demo)

    lst = sub.add_parser("list", help="list the available imputers")
    lst.set_defaults(func=_cmd_list)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``deepimpute`` command."""
    args = _parser().parse_args(argv)
    np.seterr(all="ignore")
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
