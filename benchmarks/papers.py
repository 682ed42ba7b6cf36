"""Published values the report quotes beside our runs (quoted, never measured here).

The VSAE paper's appendix: Table 6 (MCAR 0.5, UCI tables; NRMSE for numerical
attributes, PFC for categorical ones) and Table 5 (MAR / MNAR on yeast and white
wine, with the deep baselines; its missingness recipes are not ours). The paper does
not say which NRMSE variant it reports.
"""

from __future__ import annotations

from collections.abc import Iterable

#: VSAE Table 6, MCAR 0.5: (dataset, metric) -> {imputer: value}
VSAE_TABLE6: dict[tuple[str, str], dict[str, float]] = {
    ("phishing", "pfc"): {"missforest": 0.478, "mice": 0.396, "vsae": 0.237},
    ("mushroom", "pfc"): {"missforest": 0.419, "mice": 0.574, "vsae": 0.416},
    ("yeast", "nrmse"): {"missforest": 0.424, "mice": 0.521, "vsae": 0.419},
    ("white_wine", "nrmse"): {"missforest": 0.3762, "mice": 0.4280, "vsae": 0.3719},
    ("heart", "pfc"): {"missforest": 0.487, "mice": 0.616, "vsae": 0.482},
    ("heart", "nrmse"): {"missforest": 0.634, "mice": 0.749, "vsae": 0.579},
}
#: VSAE Table 5, NRMSE: (dataset, mechanism) -> {imputer: value}; Table 6 also
#: lists GAIN and MisGAN on the two numerical tables at MCAR 0.5
VSAE_TABLE5: dict[tuple[str, str], dict[str, float]] = {
    ("yeast", "mcar"): {"gain": 0.583, "misgan": 0.483},
    ("white_wine", "mcar"): {"gain": 0.3730, "misgan": 0.3725},
    ("yeast", "mar"): {"vae": 0.485, "cvae": 0.483, "hivae": 0.479, "miwae": 0.475,
                       "vsae": 0.472},
    ("yeast", "mnar"): {"vae": 0.462, "cvae": 0.443, "hivae": 0.434, "miwae": 0.456,
                        "vsae": 0.425},
    ("white_wine", "mar"): {"vae": 0.3845, "cvae": 0.3841, "hivae": 0.3840,
                            "miwae": 0.3834, "vsae": 0.3825},
    ("white_wine", "mnar"): {"vae": 0.3727, "cvae": 0.3726, "hivae": 0.3724,
                             "miwae": 0.3723, "vsae": 0.3717},
}


def vsae_table6() -> str:
    """Markdown: :data:`VSAE_TABLE6`, one row per (dataset, metric)."""
    imputers = ["vsae", "missforest", "mice"]
    lines = ["| dataset | metric | " + " | ".join(imputers) + " |",
             "|" + "---|" * (2 + len(imputers))]
    for (ds, metric), vals in VSAE_TABLE6.items():
        lines.append(f"| {ds} | {metric} | "
                     + " | ".join(f"{vals[m]}" for m in imputers) + " |")
    return "\n".join(lines)


def vsae_table5(datasets: Iterable[str], mechanism: str) -> str:
    """One line quoting :data:`VSAE_TABLE5` for these datasets ("" when none).

    Parameters
    ----------
    datasets : iterable of str
        Dataset names.
    mechanism : {"mcar", "mar", "mnar"}
        ``mnar_self`` is read as ``mnar``.

    Returns
    -------
    str
        The paper's values per dataset, or "".
    """
    mechanism = "mnar" if mechanism.startswith("mnar") else mechanism
    ctx = [f"{ds}: " + ", ".join(f"{k} {v}" for k, v in ref.items())
           for ds in datasets if (ref := VSAE_TABLE5.get((ds, mechanism)))]
    return "; ".join(ctx)
