"""Multiple imputation on known-truth simulations: bias, coverage, interval width.

Two designs (issue 32), each with missingness at random given the outcome
(``mar``) or completely at random (``mcar``):

* ``linear``: ``x1..x4`` Gaussian with pairwise correlation 0.5,
  ``y = 1 + 0.5 x1 - 0.5 x2 + 0.3 x3 + e`` (``e ~ N(0, 1)``); ``x1`` and ``x2``
  each about 40 % missing; the analysis is the OLS of ``y`` on ``x1..x4``.
* ``logistic``: ``x1, x2`` Gaussian with correlation 0.5, a three-level category
  ``g`` that follows ``x1``, and a binary ``y`` with
  ``logit P(y) = -0.5 + 0.8 x1 - 0.6 x2 + 0.8 [g=b] + 0.4 [g=c]``; ``x1`` and
  ``g`` each about 40 % missing; the analysis is the logistic regression of ``y``
  on ``x1, x2, g``.

Under ``mar``, ``x1`` goes missing more often where ``y`` is large and ``x2``
(``g``) where it is small: ``P = sigmoid(b -+ 1.5 y_std)`` with ``b`` solved so
the mean probability is 0.4. The imputer sees every column, ``y`` included; it
draws ``m`` completed tables with ``sample()`` (default 10); the analysis is fit
on each and pooled with :func:`deepimpute.pooling.fit_pooled` (Rubin's rules,
Barnard-Rubin degrees of freedom, 95 % intervals). References: the analysis on
the full data (``full``), on the complete cases (``complete_case``),
scikit-learn's ``IterativeImputer(sample_posterior=True)`` run ``m`` times with
``m`` seeds (``iterative``, through ``SklearnImputerAdapter``), and, on the
all-Gaussian ``linear`` design, draws from the multivariate normal fitted by EM:
with the one fit's parameters plugged in for every draw (``norm_plugin``: the
right model without parameter uncertainty, an *improper* imputation) or with one
EM fit per draw on a bootstrap resample of the rows (``norm_bootstrap``:
Amelia's EMB, a proper one). The two separate what the model's conditional and
what its parameter uncertainty contribute to valid intervals.

One CSV row per design x mechanism x imputer x replication x coefficient; rows
of a replication are appended together under a file lock, and a rerun skips the
replications already in the CSV, so several processes can share one CSV
(``--shard k/K``) and a stopped run resumes. A run prints the tables (bias,
coverage with its Monte-Carlo standard error, mean width, width over MICE's,
seconds; ``--summary PATH`` also writes them, ``--summary-only`` runs nothing);
``--figure`` plots coverage.

Imputers are registry names, optionally with parameters:
``vsae`` or ``"vsae:numerical=gaussian_learned,kl_weight=1"`` (the label of the
rows is the whole string). ``--set KEY=VALUE`` applies to every imputer that has
the parameter.

Examples (two processes may share one CSV: the second with ``--shard 1/2``)::

    python -m benchmarks.run --suite multiple-imputation --reps 200 \
        --imputers mice iterative
    python -m benchmarks.run --suite multiple-imputation --reps 100 \
        --imputers vsae rvi --shard 0/2
    python -m benchmarks.run --suite multiple-imputation --summary-only

The report renders the CSV with :func:`markdown` and draws the coverage figure
with :func:`draw` (``benchmarks/report/manifest.toml``).
"""

from __future__ import annotations

import argparse
import csv
import fcntl
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks._cli import RESULTS, add_common, parse_overrides, save_figure, versions
from deepimpute.imputers import IMPUTERS, SklearnImputerAdapter
from deepimpute.pooling import fit_pooled

OUT = RESULTS / "multiple_imputation.csv"
DESIGNS = ("linear", "logistic")
MECHANISMS = ("mar", "mcar")
REFERENCES = ("full", "complete_case", "iterative", "norm_plugin", "norm_bootstrap")
#: references for all-numerical designs only
NUMERIC_ONLY = ("norm_plugin", "norm_bootstrap")
DEFAULT_IMPUTERS = (
    "full", "complete_case", "iterative", "mice", "missforest", "vsae", "factvae",
    "miwae", "rvi", "vad", "hivae", "vae", "gain", "misgan",
)
TRUTH = {
    "linear": {"const": 1.0, "x1": 0.5, "x2": -0.5, "x3": 0.3, "x4": 0.0},
    "logistic": {"const": -0.5, "x1": 0.8, "x2": -0.6, "g[b]": 0.8, "g[c]": 0.4},
}
MISSING = {"linear": ("x1", "x2"), "logistic": ("x1", "g")}
RATE, MAR_SLOPE = 0.4, 1.5
FIELDS = [
    "design", "mechanism", "imputer", "rep", "coef", "truth", "estimate",
    "std_error", "ci_low", "ci_high", "covers", "width", "df", "within",
    "between", "riv", "lambda", "fmi", "m", "n", "missing_rate", "seconds",
    "params", "versions",
]
LEVEL = 0.95


# ------------------------------------------------------------------- the designs
def simulate(design: str, n: int, seed: int) -> pd.DataFrame:
    """The complete table of one replication (``seed`` fixes it)."""
    rng = np.random.default_rng([DESIGNS.index(design), seed])
    if design == "linear":
        cov = np.full((4, 4), 0.5) + 0.5 * np.eye(4)
        X = rng.multivariate_normal(np.zeros(4), cov, size=n)
        beta = [TRUTH["linear"][f"x{j}"] for j in range(1, 5)]
        y = TRUTH["linear"]["const"] + X @ beta + rng.normal(size=n)
        frame = pd.DataFrame(X, columns=["x1", "x2", "x3", "x4"])
        frame["y"] = y
        return frame
    if design == "logistic":
        t = TRUTH["logistic"]
        x = rng.multivariate_normal([0, 0], [[1, 0.5], [0.5, 1]], size=n)
        score = x[:, 0] + rng.normal(size=n)
        g = np.select([score < -0.5, score < 0.7], ["a", "b"], "c")
        logit = (t["const"] + t["x1"] * x[:, 0] + t["x2"] * x[:, 1]
                 + t["g[b]"] * (g == "b") + t["g[c]"] * (g == "c"))
        y = rng.random(n) < 1 / (1 + np.exp(-logit))
        return pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1],
                             "g": pd.Categorical(g, categories=["a", "b", "c"]),
                             "y": y})
    raise ValueError(f"unknown design {design!r}; choose from {DESIGNS}")


def _intercept(score: np.ndarray, rate: float) -> float:
    """``b`` with ``mean(sigmoid(b + score)) == rate`` (bisection)."""
    lo, hi = -20.0, 20.0
    for _ in range(80):
        mid = (lo + hi) / 2
        if np.mean(1 / (1 + np.exp(-(mid + score)))) < rate:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def make_missing(frame: pd.DataFrame, design: str, mechanism: str,
                 seed: int) -> pd.DataFrame:
    """Hide ``MISSING[design]`` (about 40 % each) under ``mechanism``."""
    rng = np.random.default_rng([DESIGNS.index(design), seed, 1])
    y = frame["y"].to_numpy(float)
    ys = (y - y.mean()) / y.std()
    out = frame.copy()
    for sign, col in zip((1.0, -1.0), MISSING[design], strict=True):
        if mechanism == "mar":
            score = sign * MAR_SLOPE * ys
            p = 1 / (1 + np.exp(-(_intercept(score, RATE) + score)))
        elif mechanism == "mcar":
            p = np.full(len(frame), RATE)
        else:
            raise ValueError(f"unknown mechanism {mechanism!r}")
        hide = rng.random(len(frame)) < p
        out[col] = out[col].astype(object if design == "logistic" and col == "g"
                                   else float)
        out.loc[hide, col] = np.nan
        if col == "g":
            out[col] = pd.Categorical(out[col], categories=["a", "b", "c"])
    return out


def analysis(design: str):
    """``fit`` and the predictor columns of the design's analysis model."""
    from sklearn.linear_model import LinearRegression, LogisticRegression

    if design == "linear":
        return LinearRegression(), ["x1", "x2", "x3", "x4"]
    return LogisticRegression(C=np.inf, max_iter=1000), ["x1", "x2", "g"]


# -------------------------------------------------------------------- imputers
def parse_imputer(label: str, overrides: dict) -> tuple[str, dict]:
    """``"vsae:kl_weight=1,n_draws=50"`` -> ``("vsae", {...})`` (``--set`` merged
    where the estimator has the parameter; the label's own values win)."""
    name, _, rest = label.partition(":")
    own = parse_overrides([p for p in rest.split(",") if p]) if rest else {}
    if name in REFERENCES:
        return name, own
    if name not in IMPUTERS:
        raise ValueError(f"unknown imputer {name!r}; choose from "
                         f"{sorted([*REFERENCES, *IMPUTERS])}")
    accepted = IMPUTERS[name]().get_params()
    params = {k: v for k, v in overrides.items() if k in accepted}
    params.update(own)
    return name, params


def em_normal(V: np.ndarray, n_iter: int = 200, tol: float = 1e-8):
    """Mean and covariance of a multivariate normal fitted by EM to ``V`` (NaN =
    missing)."""
    miss = np.isnan(V)
    mean = np.nanmean(V, axis=0)
    cov = np.diag(np.nanvar(V, axis=0))
    patterns = [(p, (miss == p).all(axis=1)) for p in np.unique(miss, axis=0)]
    for _ in range(n_iter):
        filled = np.where(miss, 0.0, V)
        extra = np.zeros_like(cov)
        for pattern, rows in patterns:
            if not pattern.any():
                continue
            o, u = ~pattern, pattern
            k = cov[np.ix_(u, o)] @ np.linalg.inv(cov[np.ix_(o, o)])
            filled[np.ix_(rows, u)] = mean[u] + (V[np.ix_(rows, o)] - mean[o]) @ k.T
            extra[np.ix_(u, u)] += rows.sum() * (
                cov[np.ix_(u, u)] - k @ cov[np.ix_(o, u)])
        new_mean = filled.mean(axis=0)
        dev = filled - new_mean
        new_cov = (dev.T @ dev + extra) / len(V)
        done = np.abs(new_cov - cov).max() < tol
        mean, cov = new_mean, new_cov
        if done:
            break
    return mean, cov


def draw_normal(V: np.ndarray, mean, cov, rng) -> np.ndarray:
    """``V`` with each missing block drawn from its conditional normal."""
    miss = np.isnan(V)
    out = V.copy()
    for pattern in np.unique(miss, axis=0):
        if not pattern.any():
            continue
        rows = (miss == pattern).all(axis=1)
        o, u = ~pattern, pattern
        k = cov[np.ix_(u, o)] @ np.linalg.inv(cov[np.ix_(o, o)])
        c = mean[u] + (V[np.ix_(rows, o)] - mean[o]) @ k.T
        L = np.linalg.cholesky(cov[np.ix_(u, u)] - k @ cov[np.ix_(o, u)])
        out[np.ix_(rows, u)] = c + rng.standard_normal(c.shape) @ L.T
    return out


def draws_of(name: str, params: dict, X: pd.DataFrame, m: int, seed: int) -> list:
    """``m`` completed tables of ``X`` from imputer ``name``."""
    if name in NUMERIC_ONLY:
        V = X.to_numpy(float)
        rng = np.random.default_rng([seed, 7])
        fits = [em_normal(V)] * m if name == "norm_plugin" else [
            em_normal(V[rng.integers(len(V), size=len(V))]) for _ in range(m)]
        return [pd.DataFrame(draw_normal(V, mu, S, rng), columns=X.columns)
                for mu, S in fits]
    if name == "iterative":
        from sklearn.experimental import enable_iterative_imputer  # noqa: F401
        from sklearn.impute import IterativeImputer

        base = IterativeImputer(sample_posterior=True, max_iter=10, **params)
        return [SklearnImputerAdapter(base, random_state=seed * 1000 + d)
                .fit_transform(X) for d in range(m)]
    est = IMPUTERS[name](**params).set_params(random_state=seed)
    if "device" in est.get_params():
        est.set_params(device="cpu")
    est.fit(X)
    return est.sample(X, n_draws=m, random_state=seed)


def run_one(design: str, mechanism: str, label: str, rep: int, *, n: int, m: int,
            overrides: dict) -> list[dict]:
    """The rows (one per coefficient) of one replication of one imputer."""
    name, params = parse_imputer(label, overrides)
    complete = simulate(design, n, rep)
    X = make_missing(complete, design, mechanism, rep)
    fit, columns = analysis(design)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name == "full":
            tables = [complete, complete]  # B = 0: the complete-data analysis
        elif name == "complete_case":
            cc = complete[X.notna().all(axis=1)].reset_index(drop=True)
            tables = [cc, cc]
        else:
            tables = draws_of(name, params, X, m, rep)
        res = fit_pooled(tables, fit, y="y", columns=columns)
    seconds = time.perf_counter() - start
    ci = res.conf_int(LEVEL)
    rows = []
    rate = float(X[list(MISSING[design])].isna().to_numpy().mean())
    for j, coef in enumerate(res.names):
        truth = TRUTH[design][coef]
        rows.append(dict(
            design=design, mechanism=mechanism, imputer=label, rep=rep, coef=coef,
            truth=truth, estimate=res.estimate[j], std_error=res.std_error[j],
            ci_low=ci[j, 0], ci_high=ci[j, 1],
            covers=int(ci[j, 0] <= truth <= ci[j, 1]), width=ci[j, 1] - ci[j, 0],
            df=res.df[j], within=res.within[j], between=res.between[j],
            riv=res.riv[j], lambda_=res.lambda_[j], fmi=res.fmi[j],
            m=1 if name in ("full", "complete_case") else m, n=len(tables[0]),
            missing_rate=rate, seconds=seconds,
            params=";".join(f"{k}={v}" for k, v in sorted(params.items())),
        ))
        rows[-1]["lambda"] = rows[-1].pop("lambda_")
    return rows


# ------------------------------------------------------------------- CSV output
def done_keys(path: Path) -> set:
    """``(design, mechanism, imputer, rep)`` already in the CSV."""
    if not path.exists() or path.stat().st_size == 0:
        return set()
    df = pd.read_csv(path, usecols=["design", "mechanism", "imputer", "rep"])
    return set(map(tuple, df.astype({"rep": int}).itertuples(index=False)))


def append_locked(path: Path, rows: list[dict]) -> None:
    """Append ``rows`` under an exclusive lock (a header if the file is new)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = versions()
    with path.open("a", newline="") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            fh.seek(0, 2)
            writer = csv.DictWriter(fh, fieldnames=FIELDS, lineterminator="\n",
                                    extrasaction="ignore")
            if fh.tell() == 0:
                writer.writeheader()
            for row in rows:
                writer.writerow({**row, "versions": stamp})
            fh.flush()
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# ---------------------------------------------------------------------- summary
def _mcse(p: float, n: int) -> float:
    """Monte-Carlo standard error of a coverage ``p`` over ``n`` replications,
    with ``p (1 - p)`` no smaller than at the nominal 0.95 (a coverage of 0 or 1
    over few replications is not exact)."""
    return math.sqrt(max(p * (1 - p), LEVEL * (1 - LEVEL)) / n) if n else float("nan")


def summary_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Per design x mechanism x imputer x coefficient: bias, coverage, width, and
    their Monte-Carlo standard errors."""
    g = df.groupby(["design", "mechanism", "imputer", "coef"], sort=False)
    out = g.agg(reps=("rep", "nunique"), truth=("truth", "first"),
                mean=("estimate", "mean"), sd=("estimate", "std"),
                se=("std_error", "mean"), coverage=("covers", "mean"),
                width=("width", "mean"), fmi=("fmi", "mean"),
                seconds=("seconds", "mean")).reset_index()
    out["bias"] = out["mean"] - out["truth"]
    out["bias_mcse"] = out["sd"] / np.sqrt(out["reps"])
    out["rel_bias"] = out["bias"] / out["truth"].where(out["truth"] != 0)
    out["coverage_mcse"] = [_mcse(p, r) for p, r in zip(out.coverage, out.reps,
                                                       strict=True)]
    mice = out[out.imputer == "mice"].set_index(["design", "mechanism", "coef"])
    key = pd.MultiIndex.from_frame(out[["design", "mechanism", "coef"]])
    out["width_ratio"] = out["width"].to_numpy() / mice["width"].reindex(key).to_numpy()
    return out


def _meets(row) -> bool:
    """The issue's goal: coverage in [0.92, 0.98], |bias| < 10 % of the
    coefficient (0.05 absolute for a zero one), width <= 1.3 x MICE's."""
    limit = 0.1 * abs(row.truth) if row.truth else 0.05
    ratio_ok = not np.isfinite(row.width_ratio) or row.width_ratio <= 1.3
    return bool(0.92 <= row.coverage <= 0.98 and abs(row.bias) < limit and ratio_ok)


def tables(df: pd.DataFrame, heading: str = "##") -> list[str]:
    """Markdown lines: one table per design x mechanism under ``heading``."""
    s = summary_frame(df)
    lines = []
    for (design, mech), part in s.groupby(["design", "mechanism"], sort=False):
        coefs = list(dict.fromkeys(part.coef))
        truth = part.drop_duplicates("coef").set_index("coef")["truth"]
        head = " | ".join(f"{c} ({truth[c]:+g})" for c in coefs)
        lines += [f"{heading} {design}, {mech}", "",
                  f"| imputer | reps | {head} | width | width / MICE | fmi | "
                  "seconds | goal |",
                  "|---" * (len(coefs) + 7) + "|"]
        for imp, rows in part.groupby("imputer", sort=False):
            rows = rows.set_index("coef").reindex(coefs)
            cells = [
                f"{r.bias:+.3f}, {r.coverage:.2f} ({r.coverage_mcse:.2f})"
                for r in rows.itertuples()
            ]
            ratio = rows["width_ratio"].mean()
            ok = all(_meets(r) for r in rows.reset_index().itertuples())
            lines.append(
                f"| {imp} | {int(rows.reps.min())} | " + " | ".join(cells)
                + f" | {rows.width.mean():.2f} | "
                + (f"{ratio:.2f}" if np.isfinite(ratio) else "-")
                + f" | {rows.fmi.mean():.2f} | {rows.seconds.mean():.1f} | "
                + f"{'ok' if ok else ''} |"
            )
        lines += [""]
    return lines


def render(df: pd.DataFrame) -> str:
    """The summary printed after a run: one table per design x mechanism."""
    lines = [
        "# Multiple imputation: bias, coverage and interval width", "",
        "Per imputer and coefficient: bias of the pooled estimate (truth in the "
        "header), coverage of the pooled 95 % interval (its Monte-Carlo standard "
        "error in brackets); mean interval width over the coefficients, and over "
        "MICE's; mean fraction of missing information; seconds per replication "
        "(fit + m draws + pooling). A row is marked `ok` where every coefficient "
        "meets the goal of issue 32 (coverage 0.92-0.98, |bias| < 10 % of the "
        "coefficient, width <= 1.3x MICE's).", "",
        *tables(df),
    ]
    return "\n".join(lines)


def markdown(paths) -> str:
    """The report's tables of one or several CSVs of this suite (rendered
    together), with the Monte-Carlo standard errors of the biases."""
    paths = paths if isinstance(paths, list | tuple) else [paths]
    df = pd.concat([pd.read_csv(p) for p in paths], ignore_index=True)
    s = summary_frame(df)
    lines = tables(df, heading="###")
    parts = []
    for label, rows in (("at least 100 replications", s[s.reps >= 100]),
                        ("10 to 99", s[(s.reps >= 10) & (s.reps < 100)])):
        if len(rows):
            parts.append(f"{rows.bias_mcse.min():.3f} to {rows.bias_mcse.max():.3f} "
                         f"({label})")
    if parts:
        reps = int(s.reps.max())
        lines.append(
            "Monte-Carlo standard error of a bias (the estimates' standard "
            "deviation over the square root of the replications): "
            + ", ".join(parts) + "; of a coverage of 0.95 over "
            f"{reps} replications: {_mcse(LEVEL, reps):.3f}.")
    return "\n".join(lines).rstrip()


def plot(df: pd.DataFrame, path: Path, min_reps: int = 1) -> Path:
    """Coverage per imputer and coefficient (with 2 Monte-Carlo SE), one panel per
    design x mechanism; imputers with fewer than ``min_reps`` replications left
    out."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = summary_frame(df)
    s = s[s.reps >= min_reps]
    panels = list(s.groupby(["design", "mechanism"], sort=False))
    ncols = min(len(panels), 2)
    nrows = -(-len(panels) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols, 3.4 * nrows),
                             squeeze=False)
    for ax, ((design, mech), part) in zip(axes.flat, panels, strict=False):
        imputers = list(dict.fromkeys(part.imputer))
        coefs = [c for c in dict.fromkeys(part.coef) if c != "const"]
        for k, coef in enumerate(coefs):
            rows = part[part.coef == coef].set_index("imputer").reindex(imputers)
            y = np.arange(len(imputers)) + (k - (len(coefs) - 1) / 2) * 0.15
            ax.errorbar(rows.coverage, y, xerr=2 * rows.coverage_mcse, fmt="o",
                        ms=3, label=coef)
        ax.axvspan(0.92, 0.98, color="0.85", zorder=0)
        ax.axvline(0.95, color="0.5", lw=0.8)
        ax.set_yticks(range(len(imputers)), imputers)
        ax.invert_yaxis()
        ax.set_xlim(0, 1.02)
        ax.set_xlabel("coverage of the 95 % interval")
        ax.set_title(f"{design}, {mech}")
        ax.legend(loc="lower left", fontsize=7)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    return save_figure(fig, path)


def draw(paths, path: Path) -> Path:
    """The report's coverage figure of the CSVs: the imputers with at least 10
    replications (all of them where none has as many)."""
    df = pd.concat([pd.read_csv(p) for p in paths], ignore_index=True)
    reps = df.groupby(["design", "mechanism", "imputer"])["rep"].nunique()
    return plot(df, path, min_reps=10 if (reps >= 10).any() else 1)


# ------------------------------------------------------------------ command line
QUICK_HELP = "n=200 rows, m=5 draws, replications 0-1, quick settings"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The suite's flags (``--suite`` is the runner's)."""
    add_common(parser, seeds=(0, 1), out=None, overrides=True, figure=True,
               quick=QUICK_HELP)
    parser.add_argument("--reps", type=int, default=None,
                        help="replications 0..REPS-1 (instead of --seeds)")
    parser.add_argument("--designs", nargs="+", default=list(DESIGNS),
                        choices=DESIGNS)
    parser.add_argument("--mechanisms", nargs="+", default=list(MECHANISMS),
                        choices=MECHANISMS)
    parser.add_argument("--imputers", nargs="+", default=list(DEFAULT_IMPUTERS),
                        metavar="NAME[:K=V,...]",
                        help="registry names or references "
                        f"({' '.join(REFERENCES)}), optionally with parameters")
    parser.add_argument("--n", type=int, default=500, help="rows (default 500)")
    parser.add_argument("--m", type=int, default=10, help="draws (default 10)")
    parser.add_argument("--shard", default="0/1",
                        help="K/N: run the replications with rep %% N == K")
    parser.add_argument("--summary", type=Path, default=None,
                        help="also write the markdown summary there")
    parser.add_argument("--summary-only", action="store_true",
                        help="render the summary (and figure) of the CSV only")


def resolve_imputers(args, parser: argparse.ArgumentParser) -> None:
    """``args.overrides`` from ``--set`` (and ``--quick``'s reduced sizes), every
    imputer label checked (a usage error otherwise); shared with the diagnosis
    study."""
    try:
        args.overrides = parse_overrides(args.set)
    except ValueError as exc:
        parser.error(str(exc))
    if args.quick:
        from deepimpute.imputers import QUICK

        args.n, args.m = min(args.n, 200), min(args.m, 5)
        args.overrides = {**QUICK, **args.overrides}
    for label in args.imputers:
        try:
            parse_imputer(label, args.overrides)
        except ValueError as exc:
            parser.error(f"--imputers: {exc}")


def resolve(args, parser: argparse.ArgumentParser) -> None:
    """Fill the defaults, check the imputer labels and the shard (no run)."""
    resolve_imputers(args, parser)
    k, _, shards = args.shard.partition("/")
    try:
        args.shard_k, args.shards = int(k), int(shards or 1)
    except ValueError:
        parser.error(f"--shard expects K/N, got {args.shard!r}")
    if not 0 <= args.shard_k < args.shards:
        parser.error(f"--shard {args.shard}: K must be in 0..N-1")
    reps = list(range(args.reps)) if args.reps is not None else list(args.seeds)
    args.replications = [r for r in reps if r % args.shards == args.shard_k]
    name = "multiple_imputation" + ("-quick" if args.quick else "")
    args.out = args.out or RESULTS / f"{name}.csv"
    args.outputs = [] if args.summary_only else [args.out]


def main(args) -> int:
    """Run (or resume) the replications of ``args``; print the summary."""
    out = Path(args.out)
    if not args.summary_only:
        done = done_keys(out)
        for rep in args.replications:
            for design in args.designs:
                for mech in args.mechanisms:
                    for label in args.imputers:
                        if (design, mech, label, rep) in done or (
                            design != "linear"
                            and label.partition(":")[0] in NUMERIC_ONLY
                        ):
                            continue
                        rows = run_one(design, mech, label, rep, n=args.n, m=args.m,
                                       overrides=args.overrides)
                        append_locked(out, rows)
                        cov = "".join(str(r["covers"]) for r in rows)
                        print(f"{design} {mech} {label} rep {rep}: covers {cov} "
                              f"{rows[0]['seconds']:.1f}s", file=sys.stderr)
    if not out.exists():
        print(f"no results in {out}", file=sys.stderr)
        return 1
    df = pd.read_csv(out)
    text = render(df)
    if args.summary is not None:
        args.summary.write_text(text + "\n")
    print(text)
    if args.figure is not None:
        plot(df, args.figure)
    return 0
