"""
Cleaning a CSV file
===================

The command ``deepimpute impute data.csv -o clean.csv --method vsae`` reads a file,
fills its empty fields and writes the result. The same from Python: read with
pandas, impute, write. Observed cells are written back unchanged, categorical
columns keep their labels.

MissForest fits one random forest per column and round, so its cost grows with
columns x rows x rounds: it is the wrong choice for a table with hundreds of columns
or millions of rows, where a deep imputer (trained on mini-batches, on a GPU if there
is one) or the mean is the practical one.
"""

import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from deepimpute import MissForestImputer
from deepimpute.datasets import make_mixed_data
from deepimpute.missingness import simulate_missing
from deepimpute.plotting import plot_distributions, plot_missingness_pattern

folder = Path(tempfile.mkdtemp())
table, _ = simulate_missing(make_mixed_data(300, random_state=0).frame, "mar", 0.2,
                            random_state=0)
table.to_csv(folder / "data.csv", index=False)

# %%
# Read (empty fields are missing; strings become categories), look, impute, write.
data = pd.read_csv(folder / "data.csv")
for col in data.select_dtypes(exclude="number"):
    data[col] = data[col].astype("category")
plot_missingness_pattern(data)
plt.tight_layout()
plt.show()

clean = MissForestImputer(n_estimators=30, max_iter=3, random_state=0).fit_transform(
    data
)
clean.to_csv(folder / "clean.csv", index=False)
print(f"{int(data.isna().sum().sum())} cells filled; "
      f"{int(clean.isna().sum().sum())} left missing")
assert clean.where(data.notna()).equals(data.where(data.notna()))  # observed kept

# %%
# A categorical column: the share of each category among observed and imputed cells.
plot_distributions(data, clean, "cat1")
plt.show()
