"""AutoImputer: the choice, its honest validation split, the budget, blends."""

import warnings

import numpy as np
import pandas as pd
import pytest

from deepimpute import persistence
from deepimpute.cli import main
from deepimpute.imputers import (
    AutoImputer,
    MeanModeImputer,
    MICEImputer,
    MissForestImputer,
    VSAEImputer,
    _auto,
    make_imputer,
)

# the point chained equations (no posterior draws): the linear model exactly
MICE = ("mice", MICEImputer(sample_posterior=False, n_imputations=1, max_iter=5))
FOREST = ("missforest", MissForestImputer(n_estimators=20, max_iter=3))
MEAN = ("mean", MeanModeImputer())


def _holes(X, rate, seed):
    r = np.random.default_rng(seed)
    Xm = np.array(X, dtype=float)
    Xm[r.random(Xm.shape) < rate] = np.nan
    return Xm


def _linear_gaussian(n=400, seed=0):
    """Correlated Gaussian columns: every conditional mean is linear (MICE's
    model exactly; forests approximate it in steps)."""
    r = np.random.default_rng(seed)
    cov = 0.95 * np.ones((4, 4)) + 0.05 * np.eye(4)
    X = r.multivariate_normal(np.zeros(4), cov, size=n)
    return X, _holes(X, 0.2, seed + 1)


def _nonlinear(n=300, seed=0):
    """Columns that are steps of one driver: no linear model predicts them,
    forests do."""
    r = np.random.default_rng(seed)
    t = r.uniform(-2, 2, size=n)
    X = np.column_stack([
        t,
        np.sign(np.sin(3 * t)) + 0.05 * r.normal(size=n),
        (np.abs(t) > 1).astype(float) + 0.05 * r.normal(size=n),
        np.cos(4 * t) + 0.05 * r.normal(size=n),
    ])
    return X, _holes(X, 0.2, seed + 1)


def _heaviest(auto):
    return {c: max(w, key=w.get) for c, w in auto.weights_.items()}


def test_picks_mice_on_a_linear_gaussian_table():
    X, Xm = _linear_gaussian()
    auto = AutoImputer(candidates=[MEAN, MICE, FOREST], time_budget=None,
                       random_state=0).fit(Xm)
    assert set(_heaviest(auto).values()) == {"mice"}
    board = pd.DataFrame(auto.leaderboard_)
    err = board.groupby("imputer")["error"].mean()
    assert err["mice"] < err["missforest"] < err["mean"]


def test_picks_missforest_on_a_nonlinear_table():
    X, Xm = _nonlinear()
    auto = AutoImputer(candidates=[MEAN, MICE, FOREST], time_budget=None,
                       random_state=0).fit(Xm)
    assert set(_heaviest(auto).values()) == {"missforest"}
    out = auto.transform(Xm)
    miss = np.isnan(Xm)
    mice = MICE[1].set_params(random_state=0).fit(Xm).transform(Xm)
    assert np.sqrt(np.mean((out - X)[miss] ** 2)) < 0.8 * np.sqrt(
        np.mean((mice - X)[miss] ** 2)
    )


def test_hidden_cells_follow_the_missing_patterns_and_split_in_two():
    X, Xm = _linear_gaussian(n=200)
    Xm[:20, :3] = np.nan  # a few rows nearly empty: patterns must keep 2 cells
    rng = np.random.default_rng(0)
    hidden, choose = _auto._hide_cells(Xm, 0.3, rng)
    report = hidden & ~choose
    observed = ~np.isnan(Xm)
    assert (hidden <= observed).all() and (choose <= hidden).all()
    assert choose.any() and report.any()
    # whole rows choose or report: no row has cells of both halves
    assert not (choose.any(axis=1) & report.any(axis=1)).any()
    assert ((observed & ~hidden).sum(axis=0) >= 2).all()
    # each receiving row got the pattern of an incomplete row: its hidden cells
    # are a subset of some row's missing cells
    missing = ~observed
    for r in np.flatnonzero(hidden.any(axis=1)):
        assert (hidden[r] <= missing).all(axis=1).any()


def test_choice_never_uses_the_reporting_cells(monkeypatch):
    """A candidate exact on the reporting cells and poor on the choosing ones
    must not be chosen: the choice sees only the choosing cells."""
    X, Xm = _linear_gaussian(n=300)
    seen = {}
    hide = _auto._hide_cells

    def spy_hide(C, fraction, rng):
        hidden, choose = hide(C, fraction, rng)
        seen.update(C=C, hidden=hidden, choose=choose)
        return hidden, choose

    def fake_score(est, C_hidden, share, rng, deep):
        C, hidden, choose = seen["C"], seen["hidden"], seen["choose"]
        noise = np.random.default_rng(1).normal(size=C.shape)
        if isinstance(est, MICEImputer):  # honest: a bit off everywhere
            pred = np.where(hidden, C + 0.3 * noise, C_hidden)
        else:  # the cheat: exact where it is reported, poor where it is chosen
            pred = np.where(hidden & ~choose, C, np.where(hidden, C + noise,
                                                          C_hidden))
        return np.where(np.isnan(C_hidden), pred, C_hidden), {}, ""

    monkeypatch.setattr(_auto, "_hide_cells", spy_hide)
    monkeypatch.setattr(_auto, "_score_fit", fake_score)
    auto = AutoImputer(candidates=[MICE, ("cheat", MeanModeImputer())],
                       time_budget=None, max_blend=1, random_state=0).fit(Xm)
    assert set(auto.chosen_.values()) == {"mice"}
    board = pd.DataFrame(auto.leaderboard_)
    cheat = board[board.imputer == "cheat"]
    assert (cheat["error"] == 0).all() and (cheat["choice_error"] > 0.5).all()
    auto_rows = board[board.imputer == "auto"].set_index("column")
    mice_rows = board[board.imputer == "mice"].set_index("column")
    assert np.allclose(auto_rows["error"], mice_rows["error"])


def test_blend_of_two_independent_errors(monkeypatch):
    X, Xm = _linear_gaussian(n=1500)
    seen = {}
    hide = _auto._hide_cells

    def spy_hide(C, fraction, rng):
        seen["C"] = C
        return hide(C, fraction, rng)

    def fake_score(est, C_hidden, share, rng, deep):
        C = seen["C"]
        k = 1 if isinstance(est, MICEImputer) else 2
        noise = np.random.default_rng(k).normal(size=C.shape)
        return np.where(np.isnan(C_hidden), C + 0.5 * noise, C_hidden), {}, ""

    monkeypatch.setattr(_auto, "_hide_cells", spy_hide)
    monkeypatch.setattr(_auto, "_score_fit", fake_score)
    auto = AutoImputer(candidates=[MICE, MEAN], time_budget=None,
                       random_state=0).fit(Xm)
    for column, weights in auto.weights_.items():
        assert auto.chosen_[column] in ("mice+mean", "mean+mice")
        assert np.isclose(sum(weights.values()), 1.0)
        assert all(0.25 < w < 0.75 for w in weights.values())
    board = pd.DataFrame(auto.leaderboard_)
    err = board.groupby("imputer")["error"].mean()
    assert err["auto"] < 0.85 * min(err["mice"], err["mean"])  # ~1/sqrt(2)


def test_categorical_column_takes_one_candidate_and_dtypes_stay():
    r = np.random.default_rng(0)
    a = r.normal(size=240)
    df = pd.DataFrame({"a": a, "b": 2 * a + 0.3 * r.normal(size=240),
                       "c": pd.Categorical(np.where(a > 0, "hi", "lo"))})
    df = df.mask(r.random(df.shape) < 0.2)
    df["c"] = df["c"].astype(pd.CategoricalDtype(["hi", "lo"]))
    auto = AutoImputer(candidates=[MEAN, MICE], time_budget=None,
                       random_state=0).fit(df)
    assert len(auto.weights_["c"]) == 1
    out = auto.transform(df)
    assert out.dtypes.equals(df.dtypes) and not out.isna().any().any()
    kept = df.notna().to_numpy()
    assert (out.to_numpy()[kept] == df.to_numpy()[kept]).all()
    # the mode loses to MICE on a category decided by a: the choice says so
    assert auto.chosen_["c"] == "mice"


def test_budget_skips_a_candidate_that_cannot_finish_in_its_share():
    X, Xm = _linear_gaussian(n=600)  # over 2 * PROBE_ROWS: MICE is probed
    auto = AutoImputer(candidates=[MEAN, MICE, ("vsae", VSAEImputer())],
                       time_budget=0.05, random_state=0).fit(Xm)
    board = pd.DataFrame(auto.leaderboard_).drop_duplicates("imputer")
    status = board.set_index("imputer")["status"]
    notes = board.set_index("imputer")["note"]
    assert status["mean"] == "chosen"  # the first always runs
    assert status["mice"] == "skipped" and "estimated" in notes["mice"]
    assert status["vsae"] == "skipped"
    assert set(auto.estimators_) == {"mean"}
    assert set(auto.chosen_.values()) == {"mean"}


def test_budget_skips_a_deep_candidate_from_its_epoch_time():
    X, Xm = _linear_gaussian(n=300)
    slow = VSAEImputer(max_iter=200, device="cpu", latent_dim=2, n_draws=4)
    auto = AutoImputer(candidates=[MEAN, ("vsae", slow)], time_budget=0.3,
                       random_state=0).fit(Xm)
    row = next(r for r in auto.leaderboard_ if r["imputer"] == "vsae")
    assert row["status"] == "skipped" and "per epoch" in row["note"]


def test_deep_candidate_gets_the_epochs_its_share_allows(monkeypatch):
    X, Xm = _linear_gaussian(n=300)
    vsae = VSAEImputer(max_iter=400, n_iter_no_change=None, device="cpu",
                       latent_dim=2, n_draws=4)
    auto = AutoImputer(candidates=[MEAN, ("vsae", vsae)], time_budget=6,
                       random_state=0).fit(Xm)
    row = next(r for r in auto.leaderboard_ if r["imputer"] == "vsae")
    if row["status"] == "skipped":  # a very busy machine: nothing to check
        pytest.skip(row["note"])
    assert "capped by the budget" in row["note"]
    epochs = int(row["note"].split(" of ")[1].split()[0])
    assert _auto.MIN_EPOCHS <= epochs < 400
    if "vsae" in auto.estimators_:
        assert auto.estimators_["vsae"].max_iter == epochs


def test_reproducible_without_budget_and_persistence_round_trip(tmp_path):
    X, Xm = _linear_gaussian(n=200)
    a = AutoImputer(candidates=[MEAN, MICE], time_budget=None, random_state=3)
    b = AutoImputer(candidates=[MEAN, MICE], time_budget=None, random_state=3)
    out_a, out_b = a.fit_transform(Xm), b.fit_transform(Xm)
    assert np.array_equal(out_a, out_b) and a.chosen_ == b.chosen_
    path = tmp_path / "auto.dimp"
    persistence.save(a, path)
    loaded = persistence.load(path)
    assert np.array_equal(loaded.transform(Xm), a.transform(Xm))
    assert loaded.leaderboard_ == a.leaderboard_ or len(loaded.leaderboard_) == len(
        a.leaderboard_
    )


def test_sample_draws_from_the_chosen_candidates():
    X, Xm = _linear_gaussian(n=200)
    auto = AutoImputer(candidates=[MICE], time_budget=None, random_state=0).fit(Xm)
    draws = auto.sample(Xm, n_draws=3, random_state=0)
    miss = np.isnan(Xm)
    assert not np.allclose(draws[0][miss], draws[1][miss])  # MICE's draws vary
    for d in draws:
        assert np.array_equal(d[~miss], Xm[~miss])
    mean_only = AutoImputer(candidates=[MEAN], time_budget=None).fit(Xm)
    with pytest.warns(UserWarning, match="no sampler"):
        same = mean_only.sample(Xm, n_draws=2, random_state=0)
    assert np.array_equal(same[0], same[1])


def test_bad_candidates_get_clear_errors():
    X, Xm = _linear_gaussian(n=50)
    with pytest.raises(ValueError, match="unknown candidate 'nope'"):
        AutoImputer(candidates=["nope"]).fit(Xm)
    with pytest.raises(ValueError, match="unknown candidate 'auto'"):
        AutoImputer(candidates=["auto"]).fit(Xm)
    with pytest.raises(TypeError, match="must be a registry name"):
        AutoImputer(candidates=[object()]).fit(Xm)
    with pytest.raises(ValueError, match="appear twice"):
        AutoImputer(candidates=[MEAN, MEAN]).fit(Xm)


def test_registry_quick_settings_reach_the_candidates():
    auto = make_imputer("auto", quick=True)
    assert auto.time_budget is None and auto.candidate_params["max_iter"] == 3
    names = auto._candidate_list()
    assert [n for n, _ in names] == list(_auto.DEFAULT_CANDIDATES)
    vsae = dict(names)["vsae"]
    assert vsae.max_iter == 3 and vsae.n_draws == 20


def test_cli_summary_shows_the_choice(tmp_path, capsys):
    X, Xm = _linear_gaussian(n=150)
    path = tmp_path / "data.csv"
    pd.DataFrame(Xm, columns=list("wxyz")).to_csv(path, index=False)
    out = tmp_path / "clean.csv"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["impute", str(path), "-o", str(out), "--method", "auto",
                     "--param", "candidates=['mean', 'mice']",
                     "--param", "time_budget=None"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "chosen imputer (validation error)" in printed
    assert all(f"  {c} " in printed for c in "wxyz")
    assert not pd.read_csv(out).isna().any().any()


def test_dask_transform_and_fit_from_a_sample_of_rows():
    dd = pytest.importorskip("dask.dataframe")
    X, Xm = _linear_gaussian(n=200)
    frame = pd.DataFrame(Xm, columns=list("abcd"))
    auto = AutoImputer(candidates=[MEAN, MICE], time_budget=None, random_state=0)
    auto.fit(frame)
    ddf = dd.from_pandas(frame, npartitions=3)
    lazy = auto.transform(ddf).compute()
    assert np.allclose(lazy.to_numpy(), auto.transform(frame).to_numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the sample-of-rows warning
        from_dask = AutoImputer(candidates=[MEAN, MICE], time_budget=None,
                                random_state=0).fit(ddf)
    assert set(from_dask.chosen_) == set("abcd")


def test_pipeline_with_a_regressor():
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline

    X, Xm = _linear_gaussian(n=200)
    y = X[:, 0] + X[:, 1]
    pipe = make_pipeline(
        AutoImputer(candidates=[MEAN, MICE], time_budget=None, random_state=0),
        Ridge(),
    )
    assert cross_val_score(pipe, Xm, y, cv=2).mean() > 0.5
