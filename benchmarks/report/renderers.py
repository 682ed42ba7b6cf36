"""Table, figure and block renderers of the report, named in ``manifest.toml``.

Three kinds, each a plain function:

* a **table** renderer ``(path) -> str`` turns one CSV of a result into Markdown
  (``(paths) -> str``, all of them, for a result rendered ``together``); a
  result's ``render`` names one of these, or a suite's own summary as
  ``module:function``;
* a **figure** renderer ``(paths: list[Path], out: Path) -> None`` draws the CSVs of
  one result into a PNG (a result's ``draw``; run by ``python -m benchmarks.report``,
  never by :func:`benchmarks.report.render`);
* a **block** ``() -> str``: generated text that belongs to no single result (the
  summary of findings, the guidance table, published values), placed in a page by
  ``{{ block-name }}``.

Numbers only: the prose around them lives in ``benchmarks/report/pages/*.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks import papers
from benchmarks._cli import RESULTS
from benchmarks._markdown import mean_sd, table
from benchmarks.quality.grid import COMPARED, cells_won, compare, floor

#: the references VSAE is compared against in the runner's tables
REFERENCES = ["mean", "missforest", "mice"]
#: the error of a runner cell: pooled raw NRMSE on numerical columns, PFC on
#: categorical ones
MAIN = ("nrmse_pooled_raw", "pfc")
#: "equal error" of the guidance table: within this relative margin of the lowest
EQUAL_ERROR = 0.02


# ----------------------------------------------------------------- helpers
def _ok(path: Path, full_only: bool = False) -> pd.DataFrame:
    df = pd.read_csv(path)
    df = df[df["status"] == "ok"]
    return df[df["quick"] == 0] if full_only else df


def _cells(df: pd.DataFrame):
    """(dataset, mechanism, rate) groups of a runner CSV, in table order."""
    return df.groupby(["dataset", "mechanism", "rate"], sort=True)


def _seeds_text(seeds) -> str:
    seeds = sorted(set(int(s) for s in seeds))
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"seeds {seeds[0]}-{seeds[-1]}"
    return "seed " + str(seeds[0]) if len(seeds) == 1 else \
        "seeds " + ", ".join(map(str, seeds))


def _msd(values, digits: int = 3) -> str:
    v = pd.to_numeric(pd.Series(list(values)), errors="coerce").dropna()
    if v.empty:
        return ""
    if len(v) == 1:
        return f"{v.iloc[0]:.{digits}f}"
    return f"{v.mean():.{digits}f} ± {v.std(ddof=0):.{digits}f}"


# ------------------------------------------------------- runner (grid) tables
def runner_summary(path: Path) -> str:
    """One small table per cell (table, mechanism, rate): the imputers sorted by
    their error (mean ± sd over seeds), fit + transform seconds and the time
    relative to MissForest on the same cell."""
    df = _ok(path)
    if df.empty:
        return "(no finished runs)"
    df = df.assign(seconds=df["fit_seconds"] + df["transform_seconds"])
    parts = []
    for (ds, mech, rate), g in _cells(df):
        metrics = [m for m in ("nrmse_pooled_raw", "nrmse_per_feature", "pfc",
                               "image_mse") if g[m].notna().any()]
        key = [m for m in MAIN if m in metrics][0]
        ref = g[g["imputer"] == "missforest"].set_index("seed")["seconds"]
        rows = []
        for name, h in g.groupby("imputer", sort=False):
            row = {"imputer": name + (" (quick)" if h["quick"].iloc[0] else "")}
            row.update({m: _msd(h[m]) for m in metrics})
            row["_sort"] = h[key].mean()
            row["fit + transform s"] = f"{h['seconds'].mean():.1f}"
            if len(ref):
                ratio = (h.set_index("seed")["seconds"] / ref).dropna()
                row["× MissForest time"] = f"{ratio.mean():.2f}" if len(ratio) else ""
            rows.append(row)
        frame = pd.DataFrame(rows).sort_values("_sort").drop(columns="_sort")
        seeds = _seeds_text(g["seed"])
        parts.append(f"**{ds}**, {mech} {rate:g} ({seeds}; sorted by {key}):\n\n"
                     + table(frame.set_index("imputer")))
    return "\n\n".join(parts)


def uci(path: Path) -> str:
    """:func:`runner_summary`, then VSAE against the column mean/mode, MissForest
    and MICE cell by cell."""
    return (runner_summary(path) + "\n\nVSAE against the references (✓: VSAE's "
            "mean error is lower on the seeds both ran):\n\n"
            + compare(path, "vsae", REFERENCES))


def nonmcar(path: Path) -> str:
    """:func:`uci`, and the mask-decoder ablation where the CSV has it."""
    out = uci(path)
    if (pd.read_csv(path)["imputer"] == "vsae-nomask").any():
        out += ("\n\nMask-decoder ablation, VSAE with against without p(m | z):\n\n"
                + compare(path, "vsae", ["vsae-nomask"]))
    return out


def rates(path: Path) -> str:
    """Error against the rate per table and imputer; rate 0.5 from the same cells
    of ``uci-mcar.csv`` (same splits and masks)."""
    df = _merged_rates(path)
    parts = []
    for metric in ("nrmse_pooled_raw", "nrmse_per_feature"):
        for ds, d in df.groupby("dataset"):
            g = d.groupby(["imputer", "rate"])[metric]
            cells = (g.mean().map("{:.3f}".format) + " ± "
                     + g.std(ddof=0).fillna(0).map("{:.3f}".format))
            wide = cells.unstack("rate").fillna("")
            wide.columns = [f"rate {c:g}" for c in wide.columns]
            order = d[d["rate"] == d["rate"].min()].groupby("imputer")[metric].mean()
            wide = wide.loc[order.sort_values().index]
            parts.append(f"**{ds}**, {metric} (MCAR, {_seeds_text(d['seed'])}):"
                         f"\n\n{table(wide)}")
    return "\n\n".join(parts)


def _merged_rates(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path)
    mcar = path.parent / "uci-mcar.csv"
    if mcar.exists():
        m = pd.read_csv(mcar)
        m = m[m["dataset"].isin(df["dataset"]) & m["imputer"].isin(df["imputer"])]
        m = m[(m["rate"] == 0.5) & (m["quick"] == df["quick"].max())]
        # a rate-sweep run that also made the 0.5 cells must not count them twice
        have = pd.MultiIndex.from_frame(df[["dataset", "imputer", "rate"]])
        m = m[~pd.MultiIndex.from_frame(m[["dataset", "imputer", "rate"]]).isin(have)]
        df = pd.concat([df, m])
    return df[df["status"] == "ok"]


def floor_counts(score: dict) -> str:
    """``floor``'s cells won, as "name won of total; ..."."""
    return "; ".join(f"{n} {w} of {t}" for n, (w, t) in score.items())


def defaults(path: Path) -> str:
    """Every imputer against the column mean/mode, cell by cell and metric by
    metric, then the cells won."""
    text, score = floor(path)
    df = _ok(path, full_only=True)
    seeds = _seeds_text(df["seed"])
    return (f"Mean over {seeds}; ✓: below the column mean/mode's mean error on the "
            f"seeds both ran.\n\n{_drop_constant_columns(text)}\n\nCells (table and "
            "rate) below the mean/mode on every metric: "
            f"{floor_counts(score)}.")


def _drop_constant_columns(markdown: str) -> str:
    """A Markdown table without the columns whose cells are all equal (their value
    said once above the table instead)."""
    lines = markdown.splitlines()
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
    header, body = rows[0], rows[2:]
    keep = [j for j in range(len(header))
            if len({r[j] for r in body}) > 1 or header[j] in ("mean",)]
    constant = [f"{header[j]} = {body[0][j]}" for j in range(len(header))
                if j not in keep and body]
    out = ["| " + " | ".join(header[j] for j in keep) + " |",
           "|" + "---|" * len(keep)]
    out += ["| " + " | ".join(r[j] for j in keep) + " |" for r in body]
    return (("Same in every row: " + ", ".join(constant) + ".\n\n")
            if constant else "") + \
        "\n".join(out)


def dlvm(path: Path) -> str:
    """:func:`runner_summary` with the GAIN / MisGAN values of VSAE's Table 6."""
    return (runner_summary(path) + "\n\nPaper (VSAE Table 6, MCAR 0.5, GAIN / "
            "MisGAN): " + papers.vsae_table5(["yeast", "white_wine"], "mcar") + ".")


def sweep(path: Path) -> str:
    """Per table and mechanism: each VSAE setting's mean error and its paired
    difference from ``base`` (mean ± sd over the same seeds)."""
    from benchmarks.profiles import SWEEP_PREFIX

    df = _ok(path)
    df = df.assign(setting=df["imputer"].str.removeprefix(SWEEP_PREFIX))
    parts = []
    for (dname, mech), d in df.groupby(["dataset", "mechanism"], sort=True):
        rows = []
        base = d[d["setting"] == "base"].set_index("seed")
        for setting, g in d.groupby("setting", sort=False):
            g = g.set_index("seed")
            row = {"setting": setting, "seeds": len(g)}
            for m in ("nrmse_pooled_raw", "nrmse_per_feature", "pfc"):
                if g[m].isna().all():
                    continue
                row[m] = g[m].mean()
                diff = (g[m] - base[m]).dropna()
                if setting != "base" and len(diff):
                    row[f"{m} - base"] = f"{diff.mean():+.4f} ± {diff.std(ddof=0):.4f}"
            rows.append(row)
        first = [m for m in ("nrmse_pooled_raw", "pfc") if m in rows[0]][0]
        frame = pd.DataFrame(rows).sort_values(first).set_index("setting")
        parts.append(f"**{dname}** ({mech} 0.5)\n\n" + table(frame))
    return "\n\n".join(parts)


def time_to_quality(path: Path) -> str:
    """Per imputer the first, last and best point, then the first point at or
    below MICE's error per seed."""
    from benchmarks.quality.time_to_quality import reach, summarize

    return summarize(path) + "\n\n" + reach(path)


#: the defaults suite's imputers shown beside the modern peers (defaults.csv)
DEFAULTS_BESIDE = ("mean", "vsae-default", "rvi-default", "factvae-default")


def modern_peers(paths: Sequence[Path]) -> str:
    """The modern peers' runner CSVs (rendered together) beside the defaults
    suite's imputers on the same cells (from ``defaults.csv``): mean over seeds of
    per-feature NRMSE, PFC and seconds (fit + transform); the lowest error of a
    cell in bold."""
    frames = [_ok(p, full_only=True) for p in paths]
    new = pd.concat(frames, ignore_index=True)
    cells = set(map(tuple, new[["dataset", "rate"]].drop_duplicates().to_numpy()))
    if (RESULTS / "defaults.csv").exists():
        ref = _ok(RESULTS / "defaults.csv", full_only=True)
        ref = ref[ref["imputer"].isin(DEFAULTS_BESIDE)]
        frames.append(ref[[(d, r) in cells for d, r in
                           zip(ref["dataset"], ref["rate"], strict=True)]])
    df = pd.concat(frames, ignore_index=True)
    df = df.assign(seconds=df["fit_seconds"] + df["transform_seconds"])
    g = df.groupby(["dataset", "rate", "imputer"]).agg(
        seeds=("seed", "count"), nrmse=("nrmse_per_feature", "mean"),
        pfc=("pfc", "mean"), seconds=("seconds", "mean")).reset_index()
    lines = ["| dataset | rate | imputer | seeds | NRMSE per feature | PFC | seconds |",
             "|---|---|---|---|---|---|---|"]
    for (_, _), cell in g.groupby(["dataset", "rate"], sort=True):
        best = {m: cell[m].min() for m in ("nrmse", "pfc")}
        for r in cell.itertuples():
            vals = []
            for m in ("nrmse", "pfc"):
                v = getattr(r, m)
                text = "" if pd.isna(v) else f"{v:.4f}"
                vals.append(f"**{text}**" if text and v == best[m] else text)
            lines.append(f"| {r.dataset} | {r.rate:g} | {r.imputer} | {r.seeds} | "
                         f"{vals[0]} | {vals[1]} | {r.seconds:.1f} |")
    return "\n".join(lines)


def scale(path: Path) -> str:
    """Growth of the seconds with the rows, and transform memory against the
    tables' size."""
    from benchmarks.perf.scale import memory_table, slopes

    return (f"Growth: slope of log(seconds) against log(rows):\n\n{slopes(path)}"
            "\n\nMemory of transform against its input and output:\n\n"
            + memory_table(path))


# --------------------------------------------------------------------- oracle
def oracle(paths: Sequence[Path]) -> str:
    """Every oracle CSV in one table: per CSV and imputer, the excess over the
    conditional mean's per-feature NRMSE at each rate (mean ± sd over seeds)."""
    from benchmarks.quality.oracle import ORACLE

    rows = []
    for path in paths:
        df = _ok(path)
        run = path.stem.removeprefix("oracle").lstrip("-") or "(references)"
        for name, g in df[df["imputer"] != ORACLE].groupby("imputer", sort=False):
            row = {"CSV": f"`{path.name}`", "imputer": name,
                   "seeds": ", ".join(map(str, sorted(set(g["seed"]))))}
            for rate, h in g.groupby("rate"):
                v = h["excess_per_feature"]
                row[f"excess at {rate:g}"] = (
                    f"{v.mean():+.1%}" + (f" ± {v.std(ddof=0):.1%}" if len(v) > 1
                                          else ""))
            row["_sort"] = g["excess_per_feature"].mean()
            row["_run"] = run
            rows.append(row)
    frame = pd.DataFrame(rows).sort_values("_sort").drop(columns=["_sort", "_run"])
    floors = pd.concat([_ok(p) for p in paths])
    floors = floors[floors["imputer"] == ORACLE].drop_duplicates(["rate", "seed"])
    floor_rows = [f"{rate:g}: {_msd(h['nrmse_per_feature'], 4)} (seeds "
                  f"{', '.join(map(str, sorted(h['seed'])))})"
                  for rate, h in floors.groupby("rate")]
    return ("Excess per-feature NRMSE over the oracle's (imputer / oracle - 1; 0 % "
            "is the best any imputer can do), sorted by the mean excess. The "
            "oracle's own per-feature NRMSE: " + "; ".join(floor_rows) + ".\n\n"
            + table(frame.set_index("imputer")))


# ---------------------------------------------------------- epoch cost (label)
def epoch_cost(path: Path) -> str:
    """The epoch-cost table of the current code's rows (``label`` ``after``)."""
    from benchmarks.perf import epoch_cost as ec

    return _current(path, ec.summary)


def epoch_profile(path: Path) -> str:
    from benchmarks.perf import epoch_cost as ec

    return _current(path, ec.profile_summary)


def _current(path: Path, helper) -> str:
    """``helper`` on the rows measured on the current code (``label`` ``after``):
    a CSV may keep rows of older code for a comparison made at the time."""
    import tempfile

    df = pd.read_csv(path)
    if "label" not in df.columns:
        return helper(path)
    with tempfile.TemporaryDirectory() as tmp:
        kept = Path(tmp) / path.name
        df[df.label == "after"].to_csv(kept, index=False)
        return helper(kept)


# ------------------------------------------------------------------- blocks
def vsae_table6() -> str:
    """The VSAE paper's Table 6 (MCAR 0.5), quoted from ``benchmarks/papers.py``."""
    return papers.vsae_table6()


def vsae_table5() -> str:
    """The VSAE paper's Table 5 (MAR / MNAR), one line per mechanism."""
    tables = ["yeast", "white_wine"]
    return (f"MAR: {papers.vsae_table5(tables, 'mar')}.\n"
            f"MNAR: {papers.vsae_table5(tables, 'mnar')}.")


def gain_paper() -> str:
    """The GAIN paper's Table 2 values (20 % MCAR, RMSE on min-max scaled data)."""
    from benchmarks.quality.gain_reference import PUBLISHED

    return ", ".join(f"{k} {v}" for k, v in PUBLISHED.items())


def _ok_rows(name: str) -> pd.DataFrame | None:
    """The finished full-run rows of a runner CSV (None when it is absent)."""
    path = RESULTS / name
    if not path.exists():
        return None
    df = _ok(path, full_only=True)
    return None if df.empty else df


def _runner_finding(name: str, label: str, focus: str | None = "vsae",
                    rivals=("mean", "missforest", "mice")) -> list[str]:
    df = _ok_rows(name)
    if df is None:
        return []
    wins: dict[str, int] = {}
    for _, g in _cells(df):
        for metric in MAIN:
            m = g.groupby("imputer")[metric].mean().dropna()
            if not m.empty:
                wins[m.idxmin()] = wins.get(m.idxmin(), 0) + 1
    ranked = sorted(wins.items(), key=lambda kv: (-kv[1], kv[0]))
    line = (f"**{label}** (`{name}`, {_seeds_text(df['seed'])}): lowest mean error "
            f"in {sum(wins.values())} (cell, metric) pairs: "
            + ", ".join(f"{k} {v}" for k, v in ranked) + ".")
    if focus and rivals and focus in set(df["imputer"]):
        won, total = cells_won(RESULTS / name, focus, list(rivals))
        line += (f" {focus} beats each of {', '.join(rivals)} on {won} of "
                 f"{total} cells.")
    return [line]


def _defaults_finding() -> list[str]:
    found = []
    for name in ("defaults.csv", "defaults-seeds3-5.csv"):
        df = _ok_rows(name)
        if df is None:
            continue
        _, score = floor(RESULTS / name)
        found.append(f"`{name}`, {_seeds_text(df['seed'])}: {floor_counts(score)}")
    if not found:
        return []
    return ["**Defaults against the column mean/mode**: cells (table and MCAR "
            "rate) with a lower mean error on every metric, "
            + "; ".join(found) + "."]


def _images_finding() -> list[str]:
    path = RESULTS / "vsae_images.csv"
    if not path.exists():
        return []
    df = pd.read_csv(path)
    df = df[(df["metric"] == "image_mse") & (df["rate"] == 0.5)
            & (df["quick"].astype(str).isin(["0", "False"]))]
    if df.empty:
        return []
    m = df.groupby("imputer")["value"].mean().sort_values()
    top = ", ".join(f"{k} {v:.4f}" for k, v in m.head(3).items())
    vsae = f"; vsae {m['vsae']:.4f}" if "vsae" in m and "vsae" not in m.head(3) else ""
    return [f"**Image pairs** (`vsae_images.csv`, rate 0.5, per-pixel MSE of hidden "
            f"images, mean over runs): lowest {top}{vsae}; column mean "
            f"{m.get('mean', float('nan')):.4f}."]


def _gain_finding() -> list[str]:
    path = RESULTS / "gain_reference.csv"
    if not path.exists():
        return []
    df = pd.read_csv(path)
    gain = df[df["imputer"] == "gain"]
    if gain.empty:
        return []
    from benchmarks.quality.gain_reference import PUBLISHED

    parts = [f"{ds} {mean_sd(g['rmse_rounded'])} (paper {PUBLISHED.get(ds, '?')})"
             for ds, g in gain.groupby("dataset")]
    return ["**GAIN on its own protocol** (`gain_reference.csv`, RMSE after the "
            "reference's rounding): " + "; ".join(parts) + "."]


def _rvi_finding() -> list[str]:
    path = RESULTS / "rvi_convergence_full_summary.csv"
    if not path.exists():
        return []
    df = pd.read_csv(path)
    holds = df.groupby("dataset")["claim_holds"].agg(["sum", "count"])
    parts = [f"{ds} {int(r['sum'])} of {int(r['count'])} runs"
             for ds, r in holds.iterrows()]
    return ["**RVI convergence** (`rvi_convergence_full.csv`): RVI reaches VAD's "
            "final loss in at most half of VAD's epochs and seconds on "
            + "; ".join(parts) + "."]


#: the summary's findings, in order: functions of the CSVs returning bullet lines
#: (none when their CSV is absent); a new benchmark may append its own
FINDINGS = [
    lambda: _runner_finding("uci-mcar.csv", "UCI tables, MCAR 0.5"),
    lambda: _runner_finding("uci-mcar-heldout.csv", "Held-out seeds, MCAR 0.5"),
    lambda: _runner_finding("uci-nonmcar.csv", "MAR / MNAR 0.5"),
    lambda: _runner_finding("peers.csv", "Diabetes and latent-factor table"),
    lambda: _runner_finding("dlvm-300ep.csv", "Deep baselines", "mean", ()),
    lambda: _runner_finding("factvae-uci.csv", "factVAE variants", "mean", ()),
    _defaults_finding,
    _images_finding,
    _gain_finding,
    _rvi_finding,
]


def summary() -> str:
    """One bullet per finding of :data:`FINDINGS` (lower is better; means over
    seeds)."""
    lines = [line for finding in FINDINGS for line in finding()]
    return "\n".join(f"* {line}" for line in lines)


#: the runner CSVs the guidance table reads (table experiments of one protocol)
GUIDE_SOURCES = ("uci-mcar.csv", "uci-nonmcar.csv", "uci-rates.csv", "peers.csv")


def which_imputer() -> str:
    """Per cell of the runner's tables: the lowest-error imputer and the fastest
    one whose error is within :data:`EQUAL_ERROR` of it on every metric.

    Error: pooled raw NRMSE on numerical columns, PFC on categorical ones; on a
    mixed table an imputer must be within the margin on both. Time: fit plus
    transform seconds, mean over seeds.
    """
    rows = []
    for name in GUIDE_SOURCES:
        df = _ok_rows(name)
        if df is None:
            continue
        df = df.assign(seconds=df["fit_seconds"] + df["transform_seconds"])
        for (ds, mech, rate), g in _cells(df):
            m = g.groupby("imputer")[[*MAIN, "seconds"]].mean()
            metrics = [c for c in MAIN if m[c].notna().any()]
            ratio = m[metrics] / m[metrics].min()
            best = ratio.mean(axis=1).idxmin()
            close = m[(ratio <= 1 + EQUAL_ERROR).all(axis=1)]
            fast = close["seconds"].idxmin()
            kind = ("mixed" if len(metrics) == 2 else
                    "numerical" if metrics == ["nrmse_pooled_raw"] else "categorical")
            err = " / ".join(f"{m.loc[best, c]:.4f}" for c in metrics)
            fast_err = " / ".join(f"{m.loc[fast, c]:.4f}" for c in metrics)
            n_train = pd.to_numeric(g["n_train"], errors="coerce").max()
            rows.append(
                f"| {ds} | {kind} | {'' if pd.isna(n_train) else int(n_train)} | "
                f"{mech} {rate:g} | {best} {err} ({m.loc[best, 'seconds']:.1f} s) | "
                f"{fast} {fast_err} ({m.loc[fast, 'seconds']:.1f} s) |"
            )
    if not rows:
        return ""
    return "\n".join([
        "| table | type | training rows | mechanism | lowest error | fastest at "
        "equal error |",
        "|---|---|---|---|---|---|",
        *rows,
    ])


def environment() -> str:
    """The hosts and library versions recorded in the CSVs."""
    versions = _recorded(("versions",)) + _recorded(
        ("torch", "sklearn", "numpy", "python"))
    hosts = _recorded(("host",)) + _recorded(("machine",))
    return ("Hosts recorded in the CSVs: " + ("; ".join(hosts) or "not recorded")
            + ".\n\nVersions recorded in the CSVs:\n\n"
            + "\n".join(f"* `{v}`" for v in versions))


def _recorded(columns: tuple[str, ...]) -> list[str]:
    """Distinct values of these columns over every CSV (versions, hosts)."""
    seen: set[str] = set()
    for p in RESULTS.glob("*.csv"):
        df = pd.read_csv(p, nrows=500)
        have = [c for c in columns if c in df]
        if len(have) == 1:
            seen |= set(df[have[0]].dropna().astype(str))
        elif have:  # one library per column (gain_reference, forest_reference)
            rows = df[have].dropna().astype(str).drop_duplicates()
            seen |= {";".join(f"{c}={v}" for c, v in zip(have, r, strict=True))
                     for r in rows.itertuples(False)}
    return sorted(seen)


# ------------------------------------------------------------------ figures
def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def relative_errors(paths: Sequence[Path], out: Path) -> None:
    """One panel per cell of a runner CSV: each imputer's mean error over the
    column mean/mode's (below 1: better than the mean), pooled raw NRMSE on
    numerical columns and PFC on categorical ones."""
    from benchmarks._cli import save_figure

    plt = _plt()
    df = _ok(paths[0], full_only=True)
    panels = []
    for (ds, mech, rate), g in _cells(df):
        m = g.groupby("imputer")[list(MAIN)].mean()
        if "mean" not in m.index:
            continue
        for metric in MAIN:
            if m[metric].notna().any():
                ratio = (m[metric] / m.loc["mean", metric]).drop("mean").dropna()
                panels.append((f"{ds}, {mech} {rate:g}\n{metric}",
                               ratio.sort_values(ascending=False)))
    cols = min(2, len(panels))  # two panels a row: legible at the page's width
    rows = -(-len(panels) // cols)
    height = max(len(r) for _, r in panels) * 0.22 + 1.0
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, height * rows),
                             squeeze=False)
    for ax, (title, ratio) in zip(axes.flat, panels, strict=False):
        colors = ["C2" if v < 1 else "C3" for v in ratio.values]
        ax.barh(ratio.index, ratio.values - 1, left=1, color=colors)
        ax.axvline(1, color="k", lw=0.8)
        ax.set_title(title, fontsize=10)
        ax.tick_params(labelsize=8)
        ax.set_xlabel("error / column mean's error", fontsize=8)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    save_figure(fig, out, dpi=100)


def rate_curves(paths: Sequence[Path], out: Path) -> None:
    """Pooled raw NRMSE against the MCAR rate, one panel per table."""
    from benchmarks._cli import save_figure

    plt = _plt()
    df = _merged_rates(paths[0])
    sets = sorted(df["dataset"].unique())
    fig, axes = plt.subplots(1, len(sets), figsize=(5.5 * len(sets), 4),
                             squeeze=False)
    for ax, ds in zip(axes[0], sets, strict=True):
        d = df[df["dataset"] == ds]
        m = d.groupby(["imputer", "rate"])["nrmse_pooled_raw"].mean().unstack()
        for k, (name, row) in enumerate(m.iterrows()):
            style = ":" if name == "mean" else "-"
            ax.plot(row.index, row.values, style, marker="o", ms=3, label=name,
                    color=f"C{k % 10}")
        ax.set_title(ds)
        ax.set_xlabel("MCAR rate")
        ax.set_ylabel("pooled raw NRMSE")
        ax.grid(alpha=0.3)
    axes[0, -1].legend(fontsize=7, ncol=2)
    save_figure(fig, out, dpi=100)


def floor_heatmap(paths: Sequence[Path], out: Path) -> None:
    """Each imputer's mean error over the column mean/mode's: one panel per
    imputer, a row per table, a column per rate and metric (green below 1, red
    above)."""
    from matplotlib.colors import TwoSlopeNorm

    from benchmarks._cli import save_figure

    plt = _plt()
    df = _ok(paths[0], full_only=True)
    names = [n for n in dict.fromkeys(df["imputer"]) if n != "mean"]
    ratios: dict[tuple, dict] = {}  # (table, column label) -> {imputer: ratio}
    for (ds, _mech, rate), g in _cells(df):
        m = g.groupby("imputer")[list(COMPARED)].mean()
        for metric in COMPARED:
            if "mean" in m.index and np.isfinite(m.loc["mean", metric]):
                ratios[(ds, (rate, metric))] = {
                    n: m.loc[n, metric] / m.loc["mean", metric]
                    for n in names if n in m.index}
    tables = list(dict.fromkeys(ds for ds, _ in ratios))
    columns = sorted(dict.fromkeys(c for _, c in ratios),
                     key=lambda c: (c[0], COMPARED.index(c[1])))
    labels = [f"{rate:g}\n{metric.replace('nrmse_', '')}" for rate, metric in columns]
    grids = {n: np.array([[ratios.get((t, c), {}).get(n, np.nan) for c in columns]
                          for t in tables]) for n in names}
    lim = max(np.nanmax(np.abs(np.log(v))) for v in grids.values())
    norm = TwoSlopeNorm(0, -lim, lim)
    # panels one above the other: the figure keeps the page's width, so its
    # numbers stay legible there
    fig, axes = plt.subplots(len(names), 1, squeeze=False, sharex=True,
                             layout="constrained",
                             figsize=(0.75 * len(labels) + 3.2,
                                      (0.3 * len(tables) + 0.5) * len(names) + 0.8))
    for ax, name in zip(axes[:, 0], names, strict=True):
        v = grids[name]
        im = ax.imshow(np.log(v), cmap="RdYlGn_r", aspect="auto", norm=norm)
        for i, j in zip(*np.nonzero(np.isfinite(v)), strict=True):
            ax.text(j, i, f"{v[i, j]:.2f}", ha="center", va="center", fontsize=7)
        ax.set_xticks(range(len(labels)), labels, fontsize=8)
        ax.set_yticks(range(len(tables)), tables, fontsize=8)
        ax.set_title(name, fontsize=10)
    fig.suptitle("mean error / column mean's (below 1: better)\ncolumns: MCAR "
                 "rate, metric", fontsize=9)
    fig.colorbar(im, ax=list(axes[:, 0]), label="log ratio", shrink=0.5)
    save_figure(fig, out, dpi=100)


def oracle_excess(paths: Sequence[Path], out: Path) -> None:
    """Mean excess over the oracle per CSV and imputer, both rates."""
    from benchmarks._cli import save_figure
    from benchmarks.quality.oracle import ORACLE

    plt = _plt()
    rows = []
    for path in paths:
        df = _ok(path)
        run = path.stem.removeprefix("oracle").lstrip("-")
        for (name, rate), g in df[df["imputer"] != ORACLE].groupby(
                ["imputer", "rate"]):
            label = name + (f" [{run}]" if run and run != "deep" else "")
            rows.append((label, rate, 100 * g["excess_per_feature"].mean()))
    frame = pd.DataFrame(rows, columns=["label", "rate", "excess"])
    frame = frame.groupby(["label", "rate"])["excess"].mean().unstack()
    frame = frame.loc[frame.mean(axis=1).sort_values(ascending=False).index]
    fig, ax = plt.subplots(figsize=(8, 0.28 * len(frame) + 1.2))
    y = np.arange(len(frame))
    for k, rate in enumerate(frame.columns):
        ax.barh(y + 0.4 * k - 0.2, frame[rate], height=0.4, label=f"MCAR {rate:g}")
    ax.set_yticks(y, frame.index, fontsize=7)
    ax.set_xscale("log")
    ticks = [t for t in (1, 2, 5, 10, 20, 50, 100, 200) if t <= frame.max().max() * 2]
    ax.set_xticks(ticks, [f"{t} %" for t in ticks])
    ax.set_xlabel("excess per-feature NRMSE over the oracle (log scale)")
    ax.legend(fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    save_figure(fig, out, dpi=100)
