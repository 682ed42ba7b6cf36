"""
Multiple imputation and a regression pooled with Rubin's rules
==============================================================

``sample`` draws several completed tables. We fit the same least-squares
regression on each and pool the coefficients with
:func:`deepimpute.pooling.fit_pooled` (Rubin's rules with Barnard-Rubin degrees of
freedom; formulas in the user guide, :ref:`multiple_imputation`), look at the
between- and within-draw variances, and compare the densities of the observed and
the imputed values of each draw.

Multiple imputation is needed when standard errors, intervals or tests must account
for the missing cells; it is the wrong tool (m times the cost for nothing) when only
a point prediction is wanted, where one imputation, or a model that handles missing
values itself, is enough.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression

from deepimpute import MICEImputer
from deepimpute.pooling import fit_pooled

rng = np.random.default_rng(0)
n = 400
x1 = rng.normal(size=n)
x2 = 0.6 * x1 + 0.8 * rng.normal(size=n)
y = 1.0 + 2.0 * x1 - 1.0 * x2 + rng.normal(size=n)
complete = pd.DataFrame({"x1": x1, "x2": x2, "y": y})
# x1 goes missing more often where y is large (missing at random given y); y takes
# part in the imputation so that the draws respect its relation to x1 and x2
X = complete.copy()
p_miss = 1 / (1 + np.exp(-(y - y.mean()) / y.std() * 1.5 + 0.4))
X.loc[rng.random(n) < p_miss, "x1"] = np.nan
print(f"x1 missing: {X.x1.isna().mean():.0%}")

# %%
# Draws and pooling
# -----------------
# MICE draws every regression's parameters from their posterior, then the
# missing cells given them: "proper" draws. The user guide says which imputers'
# draws are valid for inference.
imputer = MICEImputer(max_iter=5, random_state=0).fit(X)
m = 10
draws = imputer.sample(X, n_draws=m, random_state=0)
pooled = fit_pooled(draws, LinearRegression(), y="y", columns=["x1", "x2"])
print(pooled.summary().round(3).to_string())

full = fit_pooled([complete, complete], LinearRegression(), y="y",
                  columns=["x1", "x2"])
one = fit_pooled([imputer.transform(X)] * 2, LinearRegression(), y="y",
                 columns=["x1", "x2"])
print(pd.DataFrame({
    "complete data": full.estimate, "se (complete)": full.std_error,
    "one imputation": one.estimate, "se (one, too small)": one.std_error,
    "pooled": pooled.estimate, "se (pooled)": pooled.std_error,
}, index=pooled.names).round(3).to_string())

# %%
# Between and within variance
# ---------------------------
# The total variance is the within variance (the complete-data uncertainty) plus
# ``(1 + 1/m)`` times the between variance (the spread of the estimates across the
# draws, the uncertainty due to the missing values); the labels give each
# coefficient's fraction of missing information.
parts = pd.DataFrame({
    "within": pooled.within,
    "(1 + 1/m) between": (1 + 1 / m) * pooled.between,
}, index=pooled.names)
ax = parts.plot.barh(stacked=True, figsize=(6, 2.6))
for k in range(len(pooled.names)):
    ax.text(pooled.total[k], k, f"  fmi {pooled.fmi[k]:.2f}", va="center")
ax.set_xlabel("variance of the pooled estimate")
plt.tight_layout()
plt.show()

# %%
# Observed and imputed densities
# ------------------------------
# A statistician's check of the draws: the density of the imputed values of each
# draw (thin lines) beside that of the observed values (thick). Under missingness
# at random given ``y`` they need not agree, since the missing rows differ from the
# observed ones (here they have larger ``y``, hence larger ``x1``); draws that
# spread far less than the observed values, or that differ wildly between draws,
# are the warning signs.
hole = X.x1.isna().to_numpy()
grid = np.linspace(-4, 4, 200)


def density(values, bandwidth=0.3):
    """Gaussian kernel density of ``values`` on ``grid``."""
    z = (grid[:, None] - values[None, :]) / bandwidth
    return np.exp(-0.5 * z**2).sum(1) / (len(values) * bandwidth * np.sqrt(2 * np.pi))


fig, ax = plt.subplots(figsize=(6, 3.2))
ax.plot(grid, density(X.x1[~hole].to_numpy()), color="k", lw=2.5, label="observed")
for k, d in enumerate(draws):
    ax.plot(grid, density(d.x1.to_numpy()[hole]), color="C1", lw=0.8, alpha=0.7,
            label="imputed (one line per draw)" if k == 0 else None)
ax.set_xlabel("x1")
ax.legend()
plt.tight_layout()
plt.show()
