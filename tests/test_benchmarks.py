"""Smoke tests of the benchmark scripts: each main in --quick mode on tiny settings."""

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("matplotlib")

from benchmarks import oracle, scale, time_to_quality  # noqa: E402


def _finite(df, cols):
    values = df[cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    return np.isfinite(values).all()


def test_scale_quick(tmp_path, capsys):
    out, fig = tmp_path / "scale.csv", tmp_path / "scale.png"
    argv = ["--quick", "--no-isolate", "--imputers", "mean", "vae"]
    argv += ["--rows", "100", "200", "--out", str(out), "--figure", str(fig)]
    assert scale.main(argv) == 0
    df = pd.read_csv(out)
    assert list(df.columns) == scale.FIELDS
    assert len(df) == 4 and (df["status"] == "ok").all()
    assert sorted(df["n_rows"].unique()) == [100, 200]
    timing = ["fit_seconds", "transform_seconds", "fit_peak_mb", "transform_peak_mb"]
    assert _finite(df, [*timing, "input_mb", "output_mb", "nrmse_pooled_raw", "pfc"])
    assert (df[["fit_seconds", "transform_seconds"]] > 0).all().all()
    vae = df[df["imputer"] == "vae"]
    assert (vae["epochs"] == 1).all() and _finite(vae, ["seconds_per_epoch"])
    assert fig.stat().st_size > 0
    printed = capsys.readouterr().out
    assert "| vae | 100, 200 |" in printed and "peak / (in+out)" in printed


def test_scale_budget_skips_larger_sizes(tmp_path):
    out = tmp_path / "scale.csv"
    argv = ["--quick", "--no-isolate", "--imputers", "mean", "--rows", "50", "80"]
    argv += ["--budget-seconds", "0", "--out", str(out)]
    argv += ["--figure", str(tmp_path / "s.png")]
    assert scale.main(argv) == 0
    df = pd.read_csv(out)
    assert df["status"].tolist() == ["ok", "skipped"]
    assert "50 rows took longer" in df["error"].iloc[1]


def test_scale_append_adds_sizes_to_an_earlier_run(tmp_path):
    out = tmp_path / "scale.csv"
    argv = ["--quick", "--no-isolate", "--imputers", "mean", "--out", str(out)]
    argv += ["--figure", str(tmp_path / "s.png")]
    assert scale.main([*argv, "--rows", "50"]) == 0
    assert scale.main([*argv, "--rows", "80", "--append"]) == 0
    df = pd.read_csv(out)
    assert df["n_rows"].tolist() == [50, 80] and (df["status"] == "ok").all()
    assert scale.main([*argv, "--rows", "60"]) == 0  # without --append: a new file
    assert pd.read_csv(out)["n_rows"].tolist() == [60]


def test_scale_default_figure_follows_the_csv_name(tmp_path, monkeypatch):
    # an append run into another CSV must not overwrite the figure of scale.csv
    monkeypatch.setattr(scale, "FIGURES", tmp_path / "figures")
    out = tmp_path / "scale-all.csv"
    argv = ["--quick", "--no-isolate", "--imputers", "mean", "--rows", "50"]
    assert scale.main([*argv, "--out", str(out)]) == 0
    assert [p.name for p in (tmp_path / "figures").iterdir()] == ["scale-all.png"]


def test_oracle_quick(tmp_path, capsys):
    out = tmp_path / "oracle.csv"
    argv = ["--quick", "--imputers", "mean", "vae", "--seeds", "0", "--rates", "0.3"]
    argv += ["--n-samples", "300", "--out", str(out)]
    assert oracle.main(argv) == 0
    df = pd.read_csv(out)
    assert list(df.columns) == oracle.FIELDS
    assert df["imputer"].tolist() == [oracle.ORACLE, "mean", "vae"]
    assert (df["status"] == "ok").all()
    assert _finite(df, [*oracle.METRICS, "excess_per_feature", "excess_pooled_raw"])
    by = df.set_index("imputer")
    assert by.loc[oracle.ORACLE, "excess_per_feature"] == 0.0
    # correlated Gaussian columns: the conditional mean must beat the column mean
    assert (
        by.loc[oracle.ORACLE, "nrmse_per_feature"]
        < 0.9 * by.loc["mean", "nrmse_per_feature"]
    )
    table = capsys.readouterr().out
    rows = [line for line in table.splitlines() if line.startswith("| mcar")]
    assert oracle.ORACLE in rows[0] and len(rows) == 3


def _require_shared(load, what: str):
    """``load()``; skip the test when the shared data folder lacks ``what``."""
    try:
        return load()
    except FileNotFoundError:
        pytest.skip(f"{what} needs the shared data folder ($DEEPIMPUTE_DATA)")


def test_time_to_quality_quick(tmp_path):
    from deepimpute.datasets import load_white_wine

    _require_shared(load_white_wine, "white wine")
    out, fig = tmp_path / "ttq.csv", tmp_path / "ttq.png"
    argv = ["--quick", "--imputers", "mean", "vae", "--reference", "sk-iterative-rf"]
    argv += ["--out", str(out), "--figure", str(fig)]
    assert time_to_quality.main(argv) == 0
    df = pd.read_csv(out)
    assert list(df.columns) == time_to_quality.FIELDS
    assert (df["status"] == "ok").all()
    assert _finite(df, ["train_seconds", "eval_seconds", "nrmse_per_feature"])
    vae = df[df["imputer"] == "vae"]
    # quick: 3 epochs scored after each, then the model fit() returned
    assert vae["setting"].tolist() == ["epoch=1", "epoch=2", "epoch=3", "final"]
    assert np.all(np.diff(vae["train_seconds"].to_numpy()) >= 0)
    assert (vae["eval_seconds"] > 0).all()
    ref = df[df["imputer"] == "sk-iterative-rf"]
    assert len(ref) == len(time_to_quality.QUICK_LADDER)
    assert (ref["kind"] == "reference").all()
    assert df[df["imputer"] == "mean"]["kind"].tolist() == ["single"]
    assert fig.stat().st_size > 0


def _runner_rows(tmp_path, rows):
    from benchmarks.run import FIELDS

    path = tmp_path / "uci-mcar.csv"
    base = dict(mechanism="mcar", rate=0.5, quick=0, status="ok", fit_seconds=1.0,
                transform_seconds=1.0, versions="v", host="h")
    pd.DataFrame([{**base, **r} for r in rows], columns=FIELDS).to_csv(path,
                                                                     index=False)
    return path


def test_compare_counts_cells_won_against_every_rival(tmp_path):
    from benchmarks.run import compare

    rows = []
    for seed in (0, 1):
        rows += [  # yeast: vsae below both; wine: below mean, above mice
            dict(dataset="yeast", imputer="vsae", seed=seed, nrmse_pooled_raw=0.40),
            dict(dataset="yeast", imputer="mean", seed=seed, nrmse_pooled_raw=0.50),
            dict(dataset="yeast", imputer="mice", seed=seed, nrmse_pooled_raw=0.45),
            dict(dataset="wine", imputer="vsae", seed=seed, nrmse_pooled_raw=0.30),
            dict(dataset="wine", imputer="mean", seed=seed, nrmse_pooled_raw=0.35),
            dict(dataset="wine", imputer="mice", seed=seed, nrmse_pooled_raw=0.25),
        ]
    text = compare(_runner_rows(tmp_path, rows), "vsae", ["mean", "mice"])
    assert "on 1 of 2 cells" in text
    assert "| yeast | mcar | 0.5 | nrmse_pooled_raw | 0.4000 (2) | 0.5000 ✓ | " \
        "0.4500 ✓ |" in text
    assert "0.2500 ✗" in text


def test_report_renders_runner_csv_with_command(tmp_path, monkeypatch):
    from benchmarks import report

    rows = [dict(dataset="yeast", imputer=name, seed=0, nrmse_pooled_raw=v)
            for name, v in (("vsae", 0.4), ("mean", 0.5), ("missforest", 0.6),
                            ("mice", 0.45))]
    _runner_rows(tmp_path, rows)
    monkeypatch.setattr(report, "RESULTS", tmp_path)
    text = report.render()
    assert "## UCI tables, MCAR 0.5 (VSAE paper Table 6)" in text
    assert "python -m benchmarks.run --suite uci-mcar" in text
    assert "vsae has the lowest mean error" in text and "on 1 of 1 cells" in text
    assert "reduced run" not in text
    assert "## MAR / MNAR" not in text  # no CSV, no section
    # the summary opens the report and is computed from the same rows
    summary = text.index("## Summary of findings")
    assert summary < text.index("## UCI tables")
    assert "lowest mean error in 1 (cell, metric) pairs: vsae 1." in text[summary:]
    assert "vsae beats each of mean, missforest, mice on 1 of 1 cells" in text[summary:]
    # the guidance table: vsae lowest, and nothing else within 2 % of it
    guide = text.index("## Which imputer? Best and fastest per cell")
    assert summary < guide < text.index("## UCI tables")
    assert ("| yeast | numerical |  | mcar 0.5 | vsae 0.4000 (2.0 s) | "
            "vsae 0.4000 (2.0 s) | uci-mcar.csv |") in text[guide:]


def test_floor_marks_each_metric_against_the_mean(tmp_path):
    from benchmarks.run import floor

    rows = []
    for seed in (0, 1):
        rows += [
            dict(dataset="heart", imputer="mean", seed=seed, nrmse_pooled_raw=0.30,
                 pfc=0.40),
            dict(dataset="heart", imputer="a", seed=seed, nrmse_pooled_raw=0.25,
                 pfc=0.35),  # below on both: the cell is won
            dict(dataset="heart", imputer="b", seed=seed, nrmse_pooled_raw=0.25,
                 pfc=0.45),  # above on PFC: not won
        ]
    text, score = floor(_runner_rows(tmp_path, rows))
    assert score == {"a": (1, 1), "b": (0, 1)}
    assert "| heart | mcar | 0.5 | pfc | 2 | 0.4000 | 0.3500 ✓ | 0.4500 ✗ |" in text


def test_vsae_images_quick(tmp_path, capsys):
    from benchmarks import vsae_images
    from deepimpute.datasets import make_mnist_pairs

    _require_shared(lambda: make_mnist_pairs(n_samples=10, random_state=0), "MNIST")
    out, fig = tmp_path / "vsae_images.csv", tmp_path / "vsae_images.png"
    argv = ["--quick", "--n-samples", "150", "--rates", "0.3", "0.7"]
    argv += ["--out", str(out), "--figure", str(fig)]
    assert vsae_images.main(argv) == 0
    df = pd.read_csv(out)
    scored = df[df["imputer"] != "data"]
    assert set(scored["imputer"]) == {"vsae", "mean", "knn"}
    assert sorted(scored["rate"].unique()) == [0.3, 0.7]
    errors = scored[scored["metric"].isin(["image_mse", "image_mse_sum"])]
    assert len(errors) == 2 * 3 * 2 and _finite(errors, ["value"])
    assert (errors["value"] > 0).all()
    assert fig.stat().st_size > 0
    printed = capsys.readouterr().out
    assert "| 0.7 | vsae |" in printed
    assert "Error growth from rate 0.3 to 0.7" in printed


def test_image_pairs_run_any_runner_imputer_and_stop_the_slow_ones():
    from benchmarks import vsae_images
    from deepimpute.datasets import make_mnist_pairs

    ds = _require_shared(lambda: make_mnist_pairs(n_samples=60, random_state=0),
                         "MNIST")
    stopped = set()
    rows, view = vsae_images.run_one(ds, 0, 0.5, ["vae", "mice"], {}, quick=True,
                                     cap=60.0, stopped=stopped)
    got = pd.DataFrame(rows)
    vae = got[(got.imputer == "vae") & (got.metric == "image_mse")]["value"]
    assert len(vae) == 1 and np.isfinite(vae).all() and (vae > 0).all()
    assert view["outputs"]["vae"].shape == (len(ds.frame) - 48, 2 * 784)
    # a cap no child process can meet (starting one takes longer) stops the method,
    # records the cap and skips it in the next cell
    stopped = set()
    rows, _ = vsae_images.run_one(ds, 0, 0.5, ["mean", "mice"], {}, quick=True,
                                  cap=1e-3, stopped=stopped)
    got = pd.DataFrame(rows)
    assert stopped == {"mice"}
    assert got[got.imputer == "mice"]["metric"].tolist() == ["timeout_seconds"]
    rows, _ = vsae_images.run_one(ds, 1, 0.5, ["mean", "mice"], {}, quick=True,
                                  cap=1e-3, stopped=stopped)
    assert "mice" not in set(pd.DataFrame(rows).imputer)
    table = vsae_images.summarise(got)
    assert "| 0.5 | mice | stopped after 0 s (fit + transform)" in table


def test_report_has_a_section_with_its_command_for_every_result_csv():
    from benchmarks import report

    text = report.render()
    lines = text.splitlines()
    covered = set()
    for sec in report.SECTIONS:
        for pattern, command in sec.sources.items():
            for path in report._paths(pattern):
                covered.add(path)
                assert f"## {sec.title}" in text
                assert (command(path) if callable(command) else command) in text
                source = [
                    line for line in lines
                    if line.startswith("Source:") and f"/{path.name}`" in line
                ]
                assert len(source) == 1, path.name
                # a --quick CSV is labelled as such, never passed off as a full run
                assert ("reduced run" in source[0]) == report._reduced(path)
    # a newly committed CSV needs a section (or an entry in one) in report.SECTIONS
    csvs = {p for p in report.RESULTS.glob("*.csv") if not p.stem.endswith("_summary")}
    assert csvs and csvs <= covered, sorted(p.name for p in csvs - covered)


def test_vsae_columns_scores_each_column_on_its_own_hidden_cells():
    from benchmarks.vsae_columns import column_errors

    truth = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [0.0, 2.0, 4.0, 6.0]})
    imputed = truth.copy()
    imputed.loc[[1, 2], "b"] = 3.0  # the mean of its hidden truth (2, 4)
    imputed.loc[0, "a"] = 100.0  # a wrong value in a cell that is not hidden
    missing = np.zeros((4, 2), bool)
    missing[[1, 2], :] = True
    cell = {"X_true": truth, "X_imputed": imputed, "missing": missing}
    err = column_errors(cell, ["a", "b"])
    assert err["a"] == 0.0  # hidden cells exact; the unhidden error is ignored
    # mean-squared error 1 over a hidden-truth variance (ddof=1) of 2
    assert err["b"] == pytest.approx(np.sqrt(1.0 / 2.0))


def test_shared_flags_parse_seeds_quick_out_and_parameters(tmp_path):
    import argparse

    from benchmarks._cli import add_common, parse_overrides

    p = add_common(argparse.ArgumentParser(), seeds=(0,), overrides=True)
    args = p.parse_args(["--seeds", "3", "4", "--quick", "--out", str(tmp_path),
                         "--set", "max_iter=5", "hidden=(8, 8)", "numerical=huber"])
    assert args.seeds == [3, 4] and args.quick and args.out == tmp_path
    assert parse_overrides(args.set) == {
        "max_iter": 5, "hidden": (8, 8), "numerical": "huber"
    }
    assert p.parse_args([]).seeds == [0]
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_overrides(["max_iter"])


def test_write_rows_appends_under_one_header(tmp_path):
    from benchmarks._cli import write_rows

    path = tmp_path / "sub" / "rows.csv"
    write_rows(path, [{"imputer": "mean", "seed": 0}])
    write_rows(path, [{"imputer": "vae", "seed": 1, "extra": 9}], ["imputer", "seed"],
               append=True)
    assert path.read_text().splitlines() == ["imputer,seed", "mean,0", "vae,1"]


def test_profile_parameters_may_depend_on_the_dataset():
    from benchmarks.profiles import make_imputer
    from benchmarks.run import load

    data = load("diabetes")  # scikit-learn's, 10 columns
    imp = make_imputer("vae-dlvm", data=data, overrides={"max_iter": 7})
    params = imp.get_params()
    assert params["latent_dim"] == 20 and params["hidden"] == (64, 64, 64)
    assert params["max_iter"] == 7 and params["variant"] == "vae"
    with pytest.raises(ValueError, match="latent_dim depends on the dataset"):
        make_imputer("vae-dlvm")


def test_runner_set_overrides_the_profile_and_quick_settings(tmp_path):
    from benchmarks import run

    out = tmp_path / "dlvm.csv"
    argv = ["--datasets", "diabetes", "--mechanisms", "mcar", "--rates", "0.3",
            "--imputers", "mean", "ae-dlvm", "--seeds", "0", "--quick",
            "--set", "max_iter=1", "--out", str(out)]
    assert run.main(argv) == 0
    df = pd.read_csv(out).set_index("imputer")
    assert df.loc["ae-dlvm", "epochs"] == 1  # quick alone would run 3
    # one split for every table experiment: the runner's test rows
    _, test_rows = run.split(442, 0)
    assert (df["n_test"] == len(test_rows)).all()


def test_result_csvs_name_the_estimator_column_imputer():
    from benchmarks.run import RESULTS

    for path in RESULTS.glob("*.csv"):
        columns = set(pd.read_csv(path, nrows=0).columns)
        assert not columns & {"method", "model"}, path.name


def test_benchmarks_use_the_public_api_and_package_imports():
    import re
    from pathlib import Path

    import benchmarks

    for path in Path(benchmarks.__file__).parent.glob("*.py"):
        text = path.read_text()
        assert not re.search(r"deepimpute\.imputers\._", text), path.name
        assert "sys.path" not in text, path.name
        bare = re.findall(r"^from (rvi_\w+|profiles|run|report) import", text, re.M)
        assert not bare, (path.name, bare)
