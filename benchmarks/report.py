"""Render docs/benchmarks.md from the committed CSVs in benchmarks/results/.

    python -m benchmarks.report

One section per CSV (or family of CSVs): the paper table or figure it mirrors, the
command that regenerates it, the paper's published values for context, the figure
when the script makes one, and a label when the CSV comes from a reduced run. The
tables themselves come from the producing scripts' own summary functions, so each
table has one definition. A section whose CSV is absent is skipped.
"""

from __future__ import annotations

import datetime
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from benchmarks.run import RESULTS, compare, summarize

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
# scripts importing their sibling helpers by bare name (rvi_*.py) need this
sys.path.insert(0, str(Path(__file__).resolve().parent))

REFERENCES = ["mean", "missforest", "mice"]


def table(df: pd.DataFrame, digits: int = 4) -> str:
    """A DataFrame as a Markdown table (floats rounded)."""
    df = df.reset_index() if not isinstance(df.index, pd.RangeIndex) else df
    cols = [str(c) for c in df.columns]

    def fmt(v) -> str:
        if isinstance(v, float):
            return "" if v != v else f"{v:.{digits}f}"
        return str(v)

    rows = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    rows += ["| " + " | ".join(fmt(v) for v in r) + " |" for r in df.itertuples(False)]
    return "\n".join(rows)


def _reduced(path: Path) -> bool:
    if "quick" in path.stem:
        return True
    df = pd.read_csv(path)
    return "quick" in df and bool(df["quick"].astype(str).isin(["1", "True"]).any())


# ------------------------------------------------------------ section bodies
def _uci(path: Path) -> str:
    return (
        summarize(path)
        + "\n\nVSAE against the column mean/mode and the MissForest and MICE "
        "references (issue 3's bar):\n\n"
        + compare(path, "vsae", REFERENCES)
    )


def _nonmcar(path: Path) -> str:
    out = _uci(path)
    df = pd.read_csv(path)
    if (df["imputer"] == "vsae-nomask").any():
        out += (
            "\n\nMask-decoder ablation (VSAE with vs without p(m | z)):\n\n"
            + compare(path, "vsae", ["vsae-nomask"])
        )
    return out


def _ttq(path: Path) -> str:
    from benchmarks.time_to_quality import summarize as ttq

    return ttq(path)


def _scale(path: Path) -> str:
    from benchmarks.scale import memory_table, slopes

    return slopes(path) + "\n\n" + memory_table(path)


def _oracle(path: Path) -> str:
    from benchmarks.oracle import summarize as oracle

    return oracle(path)


def _gain(path: Path) -> str:
    df = pd.read_csv(path)
    g = df.groupby(["dataset", "method"])
    out = g.agg(seeds=("seed", "nunique"), rmse=("rmse", "mean"),
                rmse_sd=("rmse", "std"), seconds=("seconds", "mean"))
    return table(out)


def _forest(path: Path) -> str:
    return table(pd.read_csv(path))


def _rvi_convergence(path: Path) -> str:
    df = pd.read_csv(path)
    keep = ["dataset", "lr", "rate", "seed", "vad_epochs", "rvi_epochs_to_vad_final",
            "epoch_ratio", "seconds_ratio", "claim_holds"]
    agg = df.groupby(["dataset", "lr", "rate"]).agg(
        seeds=("seed", "nunique"), epoch_ratio=("epoch_ratio", "mean"),
        seconds_ratio=("seconds_ratio", "mean"),
        claim_holds=("claim_holds", "mean"),
    )
    return table(agg) + "\n\nPer run:\n\n" + table(df[keep])


def _rvi_imputation(paths: list[Path]) -> str:
    df = pd.concat([pd.read_csv(p) for p in paths])
    agg = df.pivot_table(index=["dataset", "rate"], columns="model", values="rmse",
                         aggfunc="mean")
    seeds = df.groupby("dataset")["seed"].nunique().to_dict()
    return table(agg) + f"\n\nSeeds per dataset: {seeds}; RMSE on held-out cells."


def _factvae_bars(paths: list[Path]) -> str:
    df = pd.concat([pd.read_csv(p) for p in paths])
    keep = ["seed", "sparsity", "rows", "epochs", "ratio", "n_live", "separated",
            "top_shared", "bottom_shared", "mixed", "seconds"]
    return table(df[[c for c in keep if c in df]].drop_duplicates())


def _factvae_uci(path: Path) -> str:
    df = pd.read_csv(path)
    if "test_loglik" in df:
        agg = df.groupby(["dataset", "n_train", "method"])["test_loglik"].agg(
            ["mean", "std"])
        return table(agg.unstack("method")["mean"]) + "\n\n(mean over seeds, " \
            f"{df['seed'].nunique()} seed(s); higher is better)"
    vals = [c for c in ("nrmse_pooled_raw", "nrmse_pooled_std", "pfc", "seconds")
            if c in df]
    agg = df.groupby(["dataset", "method"])[vals].mean()
    return table(agg) + f"\n\n(mean over {df['seed'].nunique()} seed(s))"


def _vsae_uci(path: Path) -> str:
    from benchmarks.vsae_uci import summarise

    df = pd.read_csv(path)
    parts = []
    for config, g in df.groupby("config", sort=False):
        parts.append(f"Configuration: `{config}`\n\n{summarise(g)}")
    return "\n\n".join(parts)


def _dlvm(path: Path) -> str:
    from benchmarks.dlvm_baselines import markdown

    df = pd.read_csv(path)
    return markdown(df, df["mechanism"].iloc[0])


@dataclass
class Section:
    title: str
    files: str  # glob under benchmarks/results/
    command: str
    render: Callable
    context: str = ""
    figure: str = ""
    many: bool = False  # render all matching files together


SECTIONS = [
    Section(
        "UCI tables, MCAR 0.5 (VSAE paper Table 6)", "uci-mcar.csv",
        "python -m benchmarks.run --suite uci-mcar --imputers <names> --seeds 0 1 2",
        _uci,
        "Paper (VSAE Table 6; their protocol, metric variant unknown): VSAE phishing "
        "PFC 0.237, mushroom PFC 0.416, yeast NRMSE 0.419, white wine 0.3719, heart "
        "0.482 (cat) / 0.579 (num); MissForest 0.478 / 0.419 / 0.424 / 0.3762 / "
        "0.487 / 0.634; MICE 0.396 / 0.574 / 0.521 / 0.4280 / 0.616 / 0.749. "
        "`vsae-paper` (the paper's two-stage schedule) rows were run before VSAE's "
        "validation loss moved to training-mode BatchNorm (commit 'VSAE validation "
        "loss in training mode'); `vsae` rows after it.",
    ),
    Section(
        "MAR / MNAR, yeast and white wine (VSAE paper Table 5)", "uci-nonmcar.csv",
        "python -m benchmarks.run --suite uci-nonmcar --imputers <names> --seeds 0 1 2",
        _nonmcar,
        "Paper (VSAE Table 5): VSAE yeast MAR 0.472, NMAR 0.425; white wine MAR "
        "0.3825, NMAR 0.3717. Our MNAR is `mnar_self` (protocol.md §1). "
        "`vsae-paper` rows predate the validation-loss change (see above).",
    ),
    Section(
        "Missing-rate sweep", "uci-rates.csv",
        "python -m benchmarks.run --suite uci-rates --imputers <names> --seeds 0 1 2",
        summarize,
    ),
    Section(
        "MNIST+MNIST image pairs (VSAE paper Table 7)", "images.csv",
        "python -m benchmarks.run --suite images --imputers <names> --seeds 0 1 2",
        summarize,
        "Paper (VSAE Table 7, summed per-image MSE of the two images): 0.1371 / "
        "0.1376 / 0.1379 at 0.3 / 0.5 / 0.7; our `image_mse` is the mean per-pixel "
        "MSE of a hidden image.",
        "vsae_images.png",
    ),
    Section(
        "The tables of design/peers.md", "peers.csv",
        "python -m benchmarks.run --suite peers --imputers <names> --seeds 0 1 2",
        summarize,
        "peers.md measured MissForest (missingpy) 0.766 / 0.850, HyperImpute "
        "0.726 / 0.856 (per-feature NRMSE, diabetes / latent factor).",
    ),
    Section(
        "Time to quality on white wine, VSAE beside MIWAE, MICE and MissForest",
        "time_to_quality-vsae.csv",
        "python -m benchmarks.time_to_quality --imputers vsae vsae-paper miwae mice "
        "mean --reference missforest --epochs 150 --every 10 --seeds 0 "
        "--out benchmarks/results/time_to_quality-vsae.csv "
        "--figure docs/figures/time_to_quality-vsae.png",
        _ttq, figure="time_to_quality-vsae.png",
    ),
    Section(
        "Time to quality on white wine, deep baselines", "time_to_quality-deep.csv",
        "python -m benchmarks.time_to_quality --imputers vae miwae hivae mean "
        "--reference sk-iterative-rf --epochs 60 "
        "--out benchmarks/results/time_to_quality-deep.csv "
        "--figure docs/figures/time_to_quality-deep.png",
        _ttq, figure="time_to_quality-deep.png",
    ),
    Section(
        "Scale: cost against rows (synthetic mixed table)", "scale.csv",
        "python -m benchmarks.scale", _scale, figure="scale.png",
    ),
    Section(
        "Oracle floor: Gaussian table, exact conditional mean", "oracle*.csv",
        "python -m benchmarks.oracle --imputers <names>", _oracle,
    ),
    Section(
        "GAIN on its own letter and spam files (GAIN paper Table 2)",
        "gain_reference.csv", "python benchmarks/gain_reference.py --seeds 3", _gain,
        "Paper (GAIN, 20 % MCAR, RMSE on min-max scaled data): letter 0.1198 ± "
        "0.0005, spam 0.0513 ± 0.0016.",
    ),
    Section(
        "MissForest and MICE against scikit-learn's IterativeImputer",
        "forest_reference_summary.csv",
        "python benchmarks/forest_reference.py", _forest,
        "Our MissForest vs IterativeImputer + RandomForest, our MICE vs "
        "IterativeImputer + BayesianRidge, same masks.",
    ),
    Section(
        "RVI convergence against VAD (RVI paper Fig. 1)",
        "rvi_convergence_quick_summary.csv",
        "cd benchmarks && python rvi_convergence.py --quick --seeds 0 1 2 --lrs 1e-3",
        _rvi_convergence,
        "The paper's claim: RVI reaches VAD's final loss in at most half of VAD's "
        "epochs and seconds (`claim_holds` needs both).",
        "rvi_convergence.png",
    ),
    Section(
        "RVI test-time imputation against the rate (RVI paper Fig. 4)",
        "rvi_imputation_quick_*.csv",
        "cd benchmarks && python rvi_imputation.py --quick", _rvi_imputation,
        figure="rvi_imputation.png", many=True,
    ),
    Section(
        "factVAE bars: learned sparsity map (factVAE paper Fig. 2)",
        "factvae_bars_*.csv", "python benchmarks/factvae_bars.py", _factvae_bars,
        "`separated`: latent dimensions shared within the top and within the bottom "
        "quadrants and none across; `ratio`: right-half MSE against mean imputation.",
        "factvae_bars.png", many=True,
    ),
    Section(
        "factVAE on UCI tables, MCAR 0.5", "factvae_uci_mcar*.csv",
        "python benchmarks/factvae_uci.py --tables mcar --datasets yeast white_wine "
        "heart --seeds 0 1 2", _factvae_uci,
    ),
    Section(
        "factVAE held-out log-likelihood, small training sets (factVAE Table 1 in "
        "spirit)", "factvae_uci_loglik*.csv",
        "python benchmarks/factvae_uci.py --tables loglik --quick --seeds 0",
        _factvae_uci,
    ),
    Section(
        "VSAE development runs (supplementary; per configuration)", "vsae_uci.csv",
        "python benchmarks/vsae_uci.py --quick --vsae '<json>'", _vsae_uci,
    ),
    Section(
        "Deep baselines of the VSAE paper (AE, VAE, CVAE, HI-VAE)",
        "dlvm_baselines_*.csv", "python benchmarks/dlvm_baselines.py --quick", _dlvm,
    ),
]


def _render_section(sec: Section) -> list[str]:
    paths = sorted(RESULTS.glob(sec.files))
    if not paths:
        return []
    out = [f"## {sec.title}", "", f"Command: `{sec.command}`", ""]
    groups = [paths] if sec.many else [[p] for p in paths]
    for group in groups:
        names = ", ".join(f"`benchmarks/results/{p.name}`" for p in group)
        reduced = any(_reduced(p) for p in group)
        out.append(
            f"Source: {names}"
            + (" — **reduced run** (fewer epochs / rows / seeds than the paper)"
               if reduced else "")
        )
        out += ["", sec.render(group if sec.many else group[0]), ""]
    if sec.context:
        out += [sec.context, ""]
    if sec.figure and (ROOT / "docs" / "figures" / sec.figure).exists():
        out += [f"![{sec.title}](figures/{sec.figure})", ""]
    return out


def render() -> str:
    versions = set()
    for p in RESULTS.glob("*.csv"):
        df = pd.read_csv(p, nrows=200)
        if "versions" in df:
            versions |= set(df["versions"].dropna().astype(str))
    out = [
        "# Benchmarks", "",
        "Generated by `python -m benchmarks.report` from the CSVs in "
        "`benchmarks/results/`; every number below comes from those files, and each "
        "section names the command that produced its CSV. Lower is better for every "
        "error (NRMSE per protocol.md §2, PFC = share of wrong categories, MSE).", "",
        f"Generated {datetime.date.today().isoformat()} on {platform.node()} "
        f"({platform.machine()}, {platform.system()}); runs use 1 thread on a "
        "2-core machine unless a section says otherwise.", "",
        "Versions recorded in the CSVs: "
        + ("; ".join(sorted(versions)) if versions else "not recorded"), "",
    ]
    for sec in SECTIONS:
        out += _render_section(sec)
    return "\n".join(out)


def main() -> int:
    DOC.write_text(render())
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
