"""The multiple-imputation suite (``benchmarks.run --suite multiple-imputation``)
and the draw diagnosis study: designs, masks, resumable CSV, summary, report."""

import numpy as np
import pandas as pd
import pytest

from benchmarks import run
from benchmarks.quality import multiple_imputation as mi
from deepimpute.pooling import fit_pooled


@pytest.mark.parametrize("design", mi.DESIGNS)
def test_designs_estimate_their_truth_on_large_samples(design):
    frame = mi.simulate(design, 20000, seed=0)
    fit, columns = mi.analysis(design)
    res = fit_pooled([frame, frame], fit, y="y", columns=columns)
    truth = np.array([mi.TRUTH[design][c] for c in res.names])
    assert np.all(np.abs(res.estimate - truth) < 4 * res.std_error + 0.01)


@pytest.mark.parametrize("design", mi.DESIGNS)
def test_mar_masks_depend_on_y_and_hit_the_rate(design):
    frame = mi.simulate(design, 4000, seed=1)
    X = mi.make_missing(frame, design, "mar", seed=1)
    first, second = mi.MISSING[design]
    y = frame["y"].astype(float)
    for col, sign in ((first, 1), (second, -1)):
        hole = X[col].isna()
        assert abs(hole.mean() - mi.RATE) < 0.03
        assert sign * (y[hole].mean() - y[~hole].mean()) > 0.2
    others = [c for c in frame if c not in mi.MISSING[design]]
    assert not X[others].isna().any().any()
    observed = X[first].notna()
    assert (X.loc[observed, first] == frame.loc[observed, first]).all()
    mcar = mi.make_missing(frame, design, "mcar", seed=1)
    assert abs(y[mcar[first].isna()].mean() - y[mcar[first].notna()].mean()) < 0.1


def test_quick_run_resumes_and_summarises(tmp_path):
    out, md = tmp_path / "mi.csv", tmp_path / "mi.md"
    argv = ["--suite", "multiple-imputation", "--quick", "--reps", "2", "--designs",
            "linear", "--mechanisms", "mar", "--imputers", "full", "complete_case",
            "mice", "--out", str(out), "--summary", str(md), "--shard", "0/2"]
    assert run.main(argv) == 0
    df = pd.read_csv(out)
    assert list(df.columns) == mi.FIELDS
    # shard 0/2 runs replication 0 only: 3 imputers x 5 coefficients
    assert len(df) == 15 and set(df.rep) == {0}
    assert set(df.coef) == set(mi.TRUTH["linear"])
    assert ((df.ci_low <= df.estimate) & (df.estimate <= df.ci_high)).all()
    mice = df[df.imputer == "mice"]
    assert (mice.between > 0).all() and (mice.m == 5).all() and (mice.n == 200).all()
    full = df[df.imputer == "full"]
    assert (full.between == 0).all()
    # a rerun skips what is done; the other shard adds replication 1
    assert run.main(argv) == 0
    assert len(pd.read_csv(out)) == 15
    assert run.main([*argv[:-1], "1/2"]) == 0
    assert sorted(pd.read_csv(out).rep.unique()) == [0, 1]
    text = md.read_text()
    assert "## linear, mar" in text and "| mice | 2 |" in text
    # the report's view of the same CSV, and its coverage figure
    report = mi.markdown(out)
    assert "### linear, mar" in report and "| mice | 2 |" in report
    assert mi.draw([out], tmp_path / "cov.png") == tmp_path / "cov.png"
    assert (tmp_path / "cov.png").stat().st_size > 0


def test_suite_arguments_resolve_without_running(tmp_path, capsys):
    args = run.parse_args(["--suite", "multiple-imputation", "--reps", "5",
                           "--shard", "1/2", "--imputers", "mice",
                           "vsae:kl_weight=1"])
    assert args.replications == [1, 3] and args.outputs == [mi.OUT]
    quick = run.parse_args(["--suite", "multiple-imputation", "--quick"])
    assert quick.n == 200 and quick.m == 5
    assert quick.out.name == "multiple_imputation-quick.csv"
    assert run.parse_args(["--suite", "multiple-imputation",
                           "--summary-only"]).outputs == []
    for bad in (["--imputers", "nope"], ["--shard", "2/2"], ["--shard", "x"]):
        with pytest.raises(SystemExit):
            run.parse_args(["--suite", "multiple-imputation", *bad])
    assert "unknown imputer 'nope'" in capsys.readouterr().err


def test_imputer_labels_carry_parameters():
    name, params = mi.parse_imputer("mice:n_imputations=3", {"max_iter": 4, "k": 1})
    assert name == "mice" and params == {"n_imputations": 3, "max_iter": 4}
    with pytest.raises(ValueError, match="unknown imputer"):
        mi.parse_imputer("nope", {})


def test_summary_marks_the_goal():
    rows = []
    for rep in range(50):
        for imp, est in (("mice", 0.5), ("bad", 0.3)):
            rows.append(dict(design="linear", mechanism="mar", imputer=imp, rep=rep,
                             coef="x1", truth=0.5, estimate=est, std_error=0.05,
                             covers=int(imp == "mice" and rep % 20 != 0), width=0.2,
                             fmi=0.3, seconds=1.0))
    s = mi.summary_frame(pd.DataFrame(rows)).set_index("imputer")
    assert s.loc["mice", "coverage"] == pytest.approx(0.94)
    assert s.loc["bad", "bias"] == pytest.approx(-0.2)
    assert s.loc["mice", "coverage_mcse"] == pytest.approx((0.94 * 0.06 / 50) ** 0.5)
    # a coverage of 0 over few replications is not exact: its error is taken at
    # the nominal rate
    assert s.loc["bad", "coverage_mcse"] == pytest.approx((0.95 * 0.05 / 50) ** 0.5)
    assert s.loc["mice", "bias_mcse"] == 0.0
    text = mi.render(pd.DataFrame(rows))
    assert "| mice | 50 | +0.000, 0.94 (0.03) | 0.20 | 1.00 | 0.30 | 1.0 | ok |" in text
    assert "| bad | 50 | -0.200, 0.00 (0.03) | 0.20 | 1.00 | 0.30 | 1.0 |  |" in text


def test_em_normal_recovers_the_design_moments():
    from benchmarks.studies.mi_diagnosis import true_moments

    frame = mi.simulate("linear", 5000, seed=2)
    X = mi.make_missing(frame, "linear", "mar", seed=2)
    mean, cov = mi.em_normal(X.to_numpy(float))
    t_mean, t_cov = true_moments()
    assert np.abs(mean - t_mean).max() < 0.06 and np.abs(cov - t_cov).max() < 0.08
    # the available-case moments of a MAR column are biased; EM's are not
    assert abs(X["x1"].mean() - t_mean[0]) > 0.1


def test_diagnosis_of_draws_from_the_true_conditional():
    from benchmarks.studies import mi_diagnosis as dg

    frame = mi.simulate("linear", 2000, seed=3)
    X = mi.make_missing(frame, "linear", "mar", seed=3)
    mean, cov = dg.true_moments()
    rng = np.random.default_rng(0)
    V = X.to_numpy(float)
    proper = [pd.DataFrame(mi.draw_normal(V, mean, cov, rng), columns=X.columns)
              for _ in range(10)]
    d = dg.diagnose(proper, X)
    assert abs(d["slope"] - 1) < 0.05 and abs(d["z_sd"] - 1) < 0.05
    assert abs(d["spread"] - 1) < 0.05 and d["offset_sd"] < 0.5
    # draws of the marginal ignore the row: slope near 0
    noise = [X.fillna({c: pd.Series(rng.normal(size=len(X)), index=X.index)
                       for c in ("x1", "x2")}) for _ in range(10)]
    assert dg.diagnose(noise, X)["slope"] < 0.2
    # the conditional mean without noise: no spread at all
    c, _ = dg.conditionals(X)
    means = [X.fillna(pd.DataFrame(c, columns=X.columns, index=X.index))] * 2
    assert dg.diagnose(means, X)["spread"] == 0


@pytest.mark.slow
def test_mice_draws_cover_on_a_small_design():
    # 60 replications of the linear design under MAR (300 rows, m = 10): MICE's
    # pooled 95 % intervals of the imputed covariates' coefficients cover the truth
    # near the nominal rate and its estimates are close to unbiased (Monte-Carlo
    # standard error of a coverage of 0.95 over 60 replications: 0.028)
    rows = [
        r
        for rep in range(60)
        for r in mi.run_one("linear", "mar", "mice", rep, n=300, m=10, overrides={})
    ]
    df = pd.DataFrame(rows)
    for coef in ("x1", "x2"):
        part = df[df.coef == coef]
        assert part.covers.mean() >= 0.85, coef
        assert abs(part.estimate.mean() - part.truth.iloc[0]) < 0.05, coef
