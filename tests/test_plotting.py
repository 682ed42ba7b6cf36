"""Diagnostic plots (Agg backend): each test checks what was drawn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

mpl = pytest.importorskip("matplotlib")
mpl.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from deepimpute import Image, MeanModeImputer, VAEImputer  # noqa: E402
from deepimpute.plotting import (  # noqa: E402
    plot_distributions,
    plot_draws,
    plot_history,
    plot_image_grid,
    plot_missingness_pattern,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _mixed(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "a": rng.normal(size=n),
        "b": rng.normal(size=n),
        "c": pd.Categorical(rng.choice(["x", "y", "z"], n)),
    })
    X.loc[:9, "a"] = np.nan       # rows 0-9: a missing
    X.loc[5:14, "c"] = np.nan     # rows 5-9: a and c together; 10-14: c only
    return X


class _Fitted:
    """A stand-in with the fitted attributes plot_history reads."""

    def __init__(self, history, max_iter, tol=0.0):
        self.history_, self.max_iter, self.tol = history, max_iter, tol


def test_history_marks_best_and_stopping_epoch():
    val = [5.0, 4.0, 3.0, 3.5, 3.6, 3.7]  # best at epoch 3, stopped after 6 of 50
    hist = [{"loss": 6.0 - i, "val_loss": v} for i, v in enumerate(val)]
    ax = plot_history(_Fitted(hist, max_iter=50))
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["loss", "val_loss", "best epoch 3", "stopped at 6"]
    np.testing.assert_array_equal(ax.get_lines()[1].get_ydata(), val)
    assert ax.get_lines()[2].get_xdata()[0] == 3
    assert ax.get_lines()[3].get_xdata()[0] == 6
    assert ax.get_xlabel() == "epoch"


def test_history_of_a_real_fit_without_early_stop():
    X = _mixed()
    imp = VAEImputer(max_iter=3, n_iter_no_change=None, random_state=0,
                     device="cpu").fit(X)
    fig, ax = plt.subplots()
    assert plot_history(imp, ax=ax) is ax
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[:2] == ["loss", "val_loss"]
    assert not any(lbl.startswith("stopped") for lbl in labels)  # ran all 3 epochs
    assert len(ax.get_lines()[0].get_xdata()) == 3


def test_history_needs_a_fitted_deep_imputer():
    with pytest.raises(ValueError, match="history"):
        plot_history(MeanModeImputer().fit(_mixed()))


def test_distributions_numerical_and_categorical():
    X = _mixed()
    X_imp = MeanModeImputer().fit_transform(X)
    ax = plot_distributions(X, X_imp, "a")
    labels = [p.get_label() for p in ax.patches]
    assert labels == ["observed (n=50)", "imputed (n=10)"]
    assert ax.get_ylabel() == "density"
    ax = plot_distributions(X, X_imp, "c")
    # 3 categories x (observed, imputed) bars; the imputed mode takes every imputed bar
    assert len(ax.patches) == 6
    assert [t.get_text() for t in ax.get_xticklabels()] == ["x", "y", "z"]
    imputed_heights = sorted(p.get_height() for p in ax.containers[1])
    assert imputed_heights == [0.0, 0.0, 1.0]
    with pytest.raises(ValueError, match="'b' has no missing"):
        plot_distributions(X, X_imp, "b")


def test_missingness_pattern_counts():
    ax = plot_missingness_pattern(_mixed())
    # patterns: none missing (45 rows), a only (5), a+c (5), c only (5)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["45", "5", "5", "5"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a (10)", "b (0)",
                                                            "c (10)"]
    grid = ax.images[0].get_array()
    assert grid.shape == (4, 3)
    assert grid[0].sum() == 0 and sorted(grid[1:].sum(axis=1)) == [1, 1, 2]
    ax = plot_missingness_pattern(_mixed(), max_patterns=2)
    assert ax.images[0].get_array().shape == (2, 3)
    assert "10 rows not shown" in ax.get_title()


def test_draws_strip_and_bars():
    X = _mixed()
    imp = VAEImputer(max_iter=2, random_state=0, device="cpu").fit(X)
    draws = imp.sample(X, n_draws=3, random_state=0)
    ax = plot_draws(X, draws, "a")
    assert len(ax.collections) == 4  # observed + 3 draws
    assert [len(c.get_offsets()) for c in ax.collections] == [50, 10, 10, 10]
    assert ax.get_xticklabels()[3].get_text() == "draw 3"
    ax = plot_draws(X, draws, "c")
    assert len(ax.patches) == 4 * 3  # 4 positions x 3 categories, stacked
    tops = np.zeros(4)
    for p in ax.patches:
        tops[round(p.get_x() + p.get_width() / 2)] += p.get_height()
    np.testing.assert_allclose(tops, 1.0)


def test_image_grid_views():
    rng = np.random.default_rng(0)
    cols = [f"p{i}" for i in range(12)]
    truth = pd.DataFrame(rng.uniform(size=(8, 12)), columns=cols)
    X = truth.copy()
    X.iloc[[1, 3, 4], 6:] = np.nan  # bottom half hidden in three rows
    X_imp = X.fillna(0.5)
    image = Image(cols, shape=(3, 4))
    axes = plot_image_grid(X, X_imp, image, X_true=truth, n_rows=2)
    assert axes.shape == (2, 3)
    assert [a.get_title() for a in axes[0]] == ["observed", "true", "imputed"]
    shown = axes[0, 0].images[0].get_array()
    assert shown.shape == (3, 4) and shown.mask.sum() == 6  # row 1's hidden pixels
    np.testing.assert_allclose(axes[1, 1].images[0].get_array(),
                               truth.iloc[3].to_numpy().reshape(3, 4))
    assert plot_image_grid(X, X_imp, image).shape == (3, 2)
    # a partner image shown first, as observed
    cols_b = [f"q{i}" for i in range(12)]
    X_pair = pd.concat([X, truth.set_axis(cols_b, axis=1)], axis=1)
    partner = Image(cols_b, shape=(3, 4), name="partner")
    axes = plot_image_grid(X_pair, X_pair.fillna(0.5), image, context=partner,
                           rows=[1])
    assert [a.get_title() for a in axes[0]] == [
        "partner (observed)", "image@p0 (observed)", "imputed"]
    np.testing.assert_allclose(axes[0, 0].images[0].get_array(),
                               truth.iloc[1].to_numpy().reshape(3, 4))
    with pytest.raises(ValueError, match="context"):
        plot_image_grid(X_pair, X_pair, image, context=Image(cols_b, shape=(4, 3)))
    with pytest.raises(TypeError, match="Image"):
        plot_image_grid(X, X_imp, cols)


def test_without_matplotlib_the_error_names_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)  # import fails
    with pytest.raises(ImportError, match=r"plot_missingness_pattern.*\[plot\]"):
        plot_missingness_pattern(_mixed())
