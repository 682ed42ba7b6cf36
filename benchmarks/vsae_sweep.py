"""VSAE settings sweep: how much do the defaults matter? (supplementary)

Each setting overrides some of :class:`deepimpute.VSAEImputer`'s parameters and runs
through the benchmark runner's cells (same splits, masks and seeds as the
``uci-mcar`` / ``uci-nonmcar`` suites at rate 0.5), so a setting's error can be
compared with the defaults' (``base``) seed by seed::

    python -m benchmarks.vsae_sweep --datasets yeast white_wine heart

The table gives each setting's mean error and its paired difference from
``base``: mean and standard deviation over seeds of
``setting - base`` on the same cell. A difference smaller than its spread is noise.

Every setting is relative to the defaults with the Gaussian numerical likelihood
(:data:`BASE`), which were the defaults until the Huber likelihood replaced it; so
``base`` is that earlier default, ``huber`` today's, and the stored rows stay
reproducible.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from benchmarks import profiles
from benchmarks._cli import add_common
from benchmarks._markdown import table
from benchmarks.run import RESULTS, run

#: Overrides under every setting: the sweep's baseline keeps the Gaussian likelihood.
BASE: dict = dict(numerical="gaussian")
#: name -> VSAEImputer parameters overriding BASE (``base``: none). The v1
#: sweep's ``collective128`` / ``proposal_mean`` settings are the defaults now; their
#: rows stay in ``vsae_sweep_v1.csv``.
SETTINGS: dict[str, dict] = {
    "base": {},
    # the defaults before commit 'VSAE: proposal means bounded' (the bound stays)
    "v1": dict(collective_hidden=(64, 64, 64), impute="importance"),
    "importance": dict(impute="importance"),
    "collective64": dict(collective_hidden=(64, 64, 64)),
    "scale0.2": dict(numerical_scale=0.2),
    "scale0.5": dict(numerical_scale=0.5),
    "learned_scale": dict(numerical="gaussian_learned"),
    "student_t": dict(numerical="student_t"),
    # today's default: Gaussian core, exponential tails (bounded pull of far values)
    "huber": dict(numerical="huber"),
    "huber+nomask": dict(numerical="huber", mask_decoder=False),
    # decoupled weight decay (AdamW) on today's default
    "huber+wd0.3": dict(numerical="huber", weight_decay=0.3),
    "huber+wd1": dict(numerical="huber", weight_decay=1.0),
    "hetero": dict(numerical="gaussian_hetero"),
    "kl0.03": dict(kl_weight=0.03),
    "kl0.3": dict(kl_weight=0.3),
    "kl1": dict(kl_weight=1.0),
    "drop0.3": dict(extra_drop_rate=0.3),
    "drop0.7": dict(extra_drop_rate=0.7),
    # no encoder-side dropout (it hides observed attributes behind the missing
    # flag); under MNAR this imputed much worse (vsae_sweep_v1.csv)
    "drop0": dict(extra_drop_rate=0.0),
    "drop0+nomask": dict(extra_drop_rate=0.0, mask_decoder=False),
    "nomask": dict(mask_decoder=False),
    # the data decoder conditioned on a Bernoulli draw of p(m | z) in training
    "sampled": dict(decoder_mask_condition="sampled"),
    "latent4": dict(latent_dim=4),
    "patience40": dict(n_iter_no_change=40),
    "batch64": dict(batch_size=64),
    "lr3e-3": dict(learning_rate=3e-3),
    "collective256": dict(collective_hidden=(256, 256, 256)),
    "decoder128": dict(decoder_hidden=(128, 128, 128)),
    "iw5": dict(n_train_draws=5),
    "iw20": dict(n_train_draws=20),
    "iw5+kl1": dict(n_train_draws=5, kl_weight=1.0),
}
PREFIX = "vsae~"
METRICS = ("nrmse_pooled_raw", "nrmse_per_feature", "pfc")


def register(names) -> list[str]:
    """Add the settings to the runner's named variants; return their names."""
    for name in names:
        profiles.VARIANTS[PREFIX + name] = ("vsae", {**BASE, **SETTINGS[name]})
    return [PREFIX + name for name in names]


def markdown(path: Path) -> str:
    """Per dataset and metric: mean error and paired difference from ``base``."""
    df = pd.read_csv(path)
    df = df[df["status"] == "ok"].assign(
        setting=lambda d: d["imputer"].str.removeprefix(PREFIX)
    )
    parts = []
    for (dname, mech), d in df.groupby(["dataset", "mechanism"], sort=True):
        rows = []
        base = d[d["setting"] == "base"].set_index("seed")
        for setting, g in d.groupby("setting", sort=False):
            g = g.set_index("seed")
            row = {"setting": setting, "seeds": len(g)}
            for m in METRICS:
                if g[m].isna().all():
                    continue
                row[m] = g[m].mean()
                diff = (g[m] - base[m]).dropna()
                if setting != "base" and len(diff):
                    row[f"{m} - base"] = (
                        f"{diff.mean():+.4f} ± {diff.std(ddof=0):.4f}"
                    )
            rows.append(row)
        first = [m for m in METRICS if m in rows[0]][0]
        frame = pd.DataFrame(rows).sort_values(first).set_index("setting")
        parts.append(f"**{dname}** ({mech} 0.5)\n\n" + table(frame))
    return "\n\n".join(parts)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", nargs="+", default=["yeast", "white_wine", "heart"])
    p.add_argument("--settings", nargs="+", default=list(SETTINGS),
                   choices=list(SETTINGS))
    p.add_argument("--mechanisms", nargs="+", default=["mcar"])
    add_common(p, out=RESULTS / "vsae_sweep.csv",
               quick="tiny epochs, at most 600 training rows (smoke)")
    args = p.parse_args(argv)
    names = register(args.settings)
    run(
        args.datasets, args.mechanisms, [0.5], names, args.seeds,
        out=args.out, quick=args.quick,
    )
    print(markdown(args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
