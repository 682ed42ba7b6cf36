"""Markdown table of the modern peers beside the defaults suite's imputers.

Reads ``results/defaults.csv`` (vsae / rvi / factvae defaults, mean),
``results/modern_peers.csv`` (remasker / diffputer defaults) and
``results/external_peers.csv`` (hyperimpute, utrees) and prints, for every
(dataset, rate) cell a modern or external peer ran, each imputer's mean over its
seeds of per-feature NRMSE, PFC and seconds (fit + transform).

    python -m benchmarks.modern_peers_table
"""

from __future__ import annotations

import pandas as pd

from benchmarks.run import RESULTS

SOURCES = ("defaults.csv", "modern_peers.csv", "external_peers.csv")


def table() -> str:
    frames = [pd.read_csv(RESULTS / name) for name in SOURCES
              if (RESULTS / name).exists()]
    df = pd.concat(frames)
    df = df[(df["status"] == "ok") & (df["quick"] == 0)]
    new = df[~df["imputer"].isin(["mean", "vsae-default", "rvi-default",
                                  "factvae-default"])]
    cells = set(map(tuple, new[["dataset", "rate"]].drop_duplicates().to_numpy()))
    df = df[[(d, r) in cells for d, r in zip(df["dataset"], df["rate"],
                                              strict=True)]]
    df = df.assign(seconds=df["fit_seconds"] + df["transform_seconds"])
    g = df.groupby(["dataset", "rate", "imputer"]).agg(
        seeds=("seed", "count"), nrmse=("nrmse_per_feature", "mean"),
        pfc=("pfc", "mean"), seconds=("seconds", "mean"))
    lines = ["| dataset | rate | imputer | seeds | NRMSE per feature | PFC | seconds |",
             "|---|---|---|---|---|---|---|"]
    for (d, r, imp), row in g.iterrows():
        pfc = "" if pd.isna(row["pfc"]) else f"{row['pfc']:.4f}"
        lines.append(f"| {d} | {r:g} | {imp} | {int(row['seeds'])} | "
                     f"{row['nrmse']:.4f} | {pfc} | {row['seconds']:.1f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
