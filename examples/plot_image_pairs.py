"""
Image pairs: imputing a hidden image from its partner
=====================================================

Each row holds two 8x8 digits of the same class (scikit-learn's digits) as two
:class:`~deepimpute.schema.Image` attributes. In a third of the rows one image is
hidden as a whole; VSAE imputes it from the image it sees. The grid shows the
observed row (hidden pixels in orange), the truth and the imputation.

The partner image is what VSAE imputes from: here it shows a digit of the same
class. Where the two images of a row are unrelated, nothing in the row predicts the
hidden one, VSAE can do no better than the mean image, and the mean is the cheaper
choice.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.datasets import load_digits

from deepimpute import ColumnSpec, Image, MeanModeImputer, VSAEImputer
from deepimpute.metrics import image_mse
from deepimpute.plotting import plot_image_grid

digits = load_digits()
rng = np.random.default_rng(0)
left, right = [], []
for label in range(10):  # pair each digit with another of its class
    idx = rng.permutation(np.flatnonzero(digits.target == label))
    half = len(idx) // 2
    left.append(digits.data[idx[:half]])
    right.append(digits.data[idx[half : 2 * half]])
left, right = np.vstack(left) / 16.0, np.vstack(right) / 16.0
cols_a = [f"a{i}" for i in range(64)]
cols_b = [f"b{i}" for i in range(64)]
X_true = pd.DataFrame(np.hstack([left, right]), columns=cols_a + cols_b)
spec = ColumnSpec([Image(cols_a, shape=(8, 8), name="a"),
                   Image(cols_b, shape=(8, 8), name="b")])

X = X_true.copy()
rows = rng.permutation(len(X))[: len(X) // 3]
X.loc[rows[::2], cols_a] = np.nan   # left image hidden
X.loc[rows[1::2], cols_b] = np.nan  # right image hidden
hidden = X.isna().to_numpy()

imp = VSAEImputer(column_spec=spec, max_iter=100, latent_dim=8, random_state=0,
                  device="cpu")
X_imp = imp.fit_transform(X)
X_mean = MeanModeImputer().fit_transform(X)  # every hidden pixel: its column mean
for name, result in {"VSAE": X_imp, "mean image": X_mean}.items():
    print(f"{name:>10}: MSE per pixel on hidden images "
          f"{image_mse(X_true, result, missing=hidden, spec=spec):.4f}")

# %%
# Rows whose right-hand image was hidden: the left image the model saw, the hidden
# truth and the imputation.
plot_image_grid(X, X_imp, spec.attributes[1], X_true=X_true,
                context=spec.attributes[0], rows=sorted(rows[1::2][:5]))
plt.tight_layout()
plt.show()
