"""Tests of the benchmark suites: each runner on tiny settings, the perf harness,
the shared flags, and the report's manifest against the committed CSVs."""

import argparse
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("matplotlib")

from benchmarks import run  # noqa: E402
from benchmarks.perf import main as perf_main  # noqa: E402


def _finite(df, cols):
    values = df[cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    return np.isfinite(values).all()


def _require_shared(load, what: str):
    """``load()``; skip the test when the shared data folder lacks ``what``."""
    try:
        return load()
    except FileNotFoundError:
        pytest.skip(f"{what} needs the shared data folder ($DEEPIMPUTE_DATA)")


# ------------------------------------------------------------ perf: harness
def test_perf_harness_measures_time_peakmem_and_track_per_grid_point(tmp_path):
    from benchmarks.perf import Benchmark
    from benchmarks.perf import run as run_suite

    class Toy(Benchmark):
        name = "toy"
        params = {"n": [10, 20], "kind": ["a", "b"]}
        fields = ["n", "kind", "quick", "status", "work_seconds", "work_peak_mb",
                  "total", "error", "versions", "host"]

        def setup(self, n, kind):
            if kind == "b" and n == 20:
                raise RuntimeError("no b at 20")
            self.n = n

        def skip(self, point):
            return "too small" if point == {"n": 10, "kind": "b"} else None

        def time_work(self):
            self.data = np.ones(self.n * 1000)

        peakmem_work = time_work

        def track_total(self):
            return {"total": float(self.data.sum())}

    out = tmp_path / "toy.csv"
    args = argparse.Namespace(n=[10, 20], kind=["a", "b"], out=out, quick=False,
                              append=False)
    rows = run_suite(Toy(args))
    assert [(r["n"], r["kind"], r["status"]) for r in rows] == [
        (10, "a", "ok"), (10, "b", "skipped"), (20, "a", "ok"), (20, "b", "error")]
    df = pd.read_csv(out)
    assert list(df.columns) == Toy.fields
    ok = df[df.status == "ok"]
    assert ok["total"].tolist() == [10_000.0, 20_000.0]  # track_ saw time_'s state
    assert (ok["work_seconds"] > 0).all() and ok["work_peak_mb"].notna().all()
    assert df.loc[1, "error"] == "too small"
    assert "RuntimeError: no b at 20" in df.loc[3, "error"]


def test_perf_scale_quick(tmp_path, capsys):
    out, fig = tmp_path / "scale.csv", tmp_path / "scale.png"
    argv = ["--suite", "scale", "--quick", "--no-isolate", "--imputers", "mean",
            "vae", "--rows", "100", "200", "--out", str(out), "--figure", str(fig)]
    assert perf_main(argv) == 0
    from benchmarks.perf.scale import FIELDS

    df = pd.read_csv(out)
    assert list(df.columns) == FIELDS
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


def test_perf_scale_budget_skips_larger_sizes_and_append_adds_sizes(tmp_path):
    out = tmp_path / "scale.csv"
    argv = ["--suite", "scale", "--quick", "--no-isolate", "--imputers", "mean",
            "--out", str(out)]
    assert perf_main([*argv, "--rows", "50", "80", "--budget-seconds", "0"]) == 0
    df = pd.read_csv(out)
    assert df["status"].tolist() == ["ok", "skipped"]
    assert "50 rows took longer" in df["error"].iloc[1]
    assert perf_main([*argv, "--rows", "50"]) == 0  # without --append: a new file
    assert perf_main([*argv, "--rows", "80", "--append"]) == 0
    df = pd.read_csv(out)
    assert df["n_rows"].tolist() == [50, 80] and (df["status"] == "ok").all()


def test_perf_suites_parse_their_grid_and_quick_defaults():
    from benchmarks.perf import SUITES, load_suite, parse_args

    for name in SUITES:
        cls, args = parse_args(["--suite", name, "--quick"])
        assert cls is load_suite(name) and cls.name == name
        for param in cls.params:
            assert getattr(args, param) is not None, (name, param)
        assert args.outputs == [args.out] and args.out.name.endswith("-quick.csv")
        assert args.figure is None  # no figure unless asked for
    with pytest.raises(SystemExit):
        parse_args(["--suite", "scale", "--imputers", "no-such-imputer"])


# --------------------------------------------------------- quality runner
def _runner_rows(tmp_path, rows, name="uci-mcar.csv"):
    from benchmarks.quality.grid import FIELDS

    path = tmp_path / name
    base = dict(mechanism="mcar", rate=0.5, quick=0, status="ok", fit_seconds=1.0,
                transform_seconds=1.0, versions="v", host="h")
    pd.DataFrame([{**base, **r} for r in rows], columns=FIELDS).to_csv(path,
                                                                     index=False)
    return path


def test_compare_counts_cells_won_against_every_rival(tmp_path):
    from benchmarks.quality.grid import compare

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


def test_floor_marks_each_metric_against_the_mean(tmp_path):
    from benchmarks.quality.grid import floor

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


def test_runner_set_overrides_the_profile_and_quick_settings(tmp_path):
    from benchmarks.quality.grid import split

    out = tmp_path / "dlvm.csv"
    argv = ["--datasets", "diabetes", "--mechanisms", "mcar", "--rates", "0.3",
            "--imputers", "mean", "ae-dlvm", "--seeds", "0", "--quick",
            "--set", "max_iter=1", "--out", str(out)]
    assert run.main(argv) == 0
    df = pd.read_csv(out).set_index("imputer")
    assert df.loc["ae-dlvm", "epochs"] == 1  # quick alone would run 3
    # one split for every table experiment: the runner's test rows
    _, test_rows = split(442, 0)
    assert (df["n_test"] == len(test_rows)).all()


def test_runner_suites_fill_their_grid_and_reject_unknown_names(capsys):
    from benchmarks.quality import SUITES
    from benchmarks.quality.grid import GRIDS

    args = run.parse_args(["--suite", "uci-mcar", "--imputers", "mean"])
    assert args.datasets == GRIDS["uci-mcar"]["datasets"]
    assert args.outputs == [args.out] and args.out.name == "uci-mcar.csv"
    for name in SUITES:  # every suite parses with its defaults, running nothing
        assert run.parse_args(["--suite", name]).outputs is not None, name
    with pytest.raises(SystemExit):
        run.parse_args(["--suite", "uci-mcar", "--imputers", "no-such"])
    assert "unknown ['no-such']" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run.parse_args(["--suite", "oracle", "--set", "max_iter"])
    # --set: a parameter some imputers lack is set where present; a name none has
    # (a misspelling) is an error naming the valid ones
    args = run.parse_args(["--suite", "dlvm", "--imputers", "mean", "ae-dlvm",
                           "--set", "max_iter=3"])
    assert args.overrides == {"max_iter": 3}
    capsys.readouterr()
    with pytest.raises(SystemExit):
        run.parse_args(["--suite", "uci-mcar", "--imputers", "mean", "vsae",
                        "--set", "kl_wieght=0.5"])
    err = capsys.readouterr().err
    assert "['kl_wieght']" in err and "'kl_weight'" in err
    with pytest.raises(SystemExit):
        from benchmarks.perf import parse_args as perf_args

        perf_args(["--suite", "scale", "--imputers", "mean", "--set", "max_iter=2"])


def test_runner_help_lists_every_suite(capsys):
    from benchmarks.quality import SUITES

    with pytest.raises(SystemExit):
        run.parse_args(["--help"])
    printed = capsys.readouterr().out
    assert all(f"  {name} " in printed for name in SUITES)


def test_oracle_suite_quick(tmp_path, capsys):
    from benchmarks.quality import oracle

    out = tmp_path / "oracle.csv"
    argv = ["--suite", "oracle", "--quick", "--imputers", "mean", "vae", "--seeds",
            "0", "--rates", "0.3", "--n-samples", "300", "--out", str(out)]
    assert run.main(argv) == 0
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


def test_time_to_quality_suite_quick(tmp_path):
    from benchmarks.quality import time_to_quality
    from deepimpute.datasets import load_white_wine

    _require_shared(load_white_wine, "white wine")
    out, fig = tmp_path / "ttq.csv", tmp_path / "ttq.png"
    argv = ["--suite", "time-to-quality", "--quick", "--imputers", "mean", "vae",
            "--reference", "sk-iterative-rf", "--out", str(out), "--figure", str(fig)]
    assert run.main(argv) == 0
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


def test_image_pairs_suite_quick(tmp_path, capsys):
    from deepimpute.datasets import make_mnist_pairs

    _require_shared(lambda: make_mnist_pairs(n_samples=10, random_state=0), "MNIST")
    out, fig = tmp_path / "vsae_images.csv", tmp_path / "vsae_images.png"
    argv = ["--suite", "image-pairs", "--quick", "--n-samples", "150", "--rates",
            "0.3", "0.7", "--out", str(out), "--figure", str(fig)]
    assert run.main(argv) == 0
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


def _pairs(n_samples):
    from deepimpute.datasets import make_mnist_pairs

    return _require_shared(
        lambda: make_mnist_pairs(n_samples=n_samples, random_state=0), "MNIST")


@pytest.mark.slow  # ~2 min: MICE on 1568 pixel columns in a child process
def test_image_pairs_run_any_runner_imputer():
    from benchmarks.quality import image_pairs

    ds = _pairs(60)
    rows, view = image_pairs.run_one(ds, 0, 0.5, ["vae", "mice"], {}, quick=True,
                                     cap=60.0, stopped=set())
    got = pd.DataFrame(rows)
    for name in ("vae", "mice"):
        err = got[(got.imputer == name) & (got.metric == "image_mse")]["value"]
        assert len(err) == 1 and np.isfinite(err).all() and (err > 0).all()
    assert view["outputs"]["vae"].shape == (len(ds.frame) - 48, 2 * 784)


def test_image_pairs_stop_a_method_past_its_cap_and_skip_it_after():
    from benchmarks.quality import image_pairs

    ds = _pairs(60)
    # a cap no child process can meet (starting one takes longer) stops the method,
    # records the cap and skips it in the next cell
    stopped = set()
    rows, _ = image_pairs.run_one(ds, 0, 0.5, ["mean", "mice"], {}, quick=True,
                                  cap=1e-3, stopped=stopped)
    got = pd.DataFrame(rows)
    assert stopped == {"mice"}
    assert got[got.imputer == "mice"]["metric"].tolist() == ["timeout_seconds"]
    rows, _ = image_pairs.run_one(ds, 1, 0.5, ["mean", "mice"], {}, quick=True,
                                  cap=1e-3, stopped=stopped)
    assert "mice" not in set(pd.DataFrame(rows).imputer)
    table = image_pairs.summarise(got)
    assert "| 0.5 | mice | stopped after 0 s (fit + transform)" in table


def test_column_errors_score_each_column_on_its_own_hidden_cells():
    from benchmarks.quality.grid import column_errors

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


def test_profile_parameters_may_depend_on_the_dataset():
    from benchmarks.data import load
    from benchmarks.profiles import make_imputer

    data = load("diabetes")  # scikit-learn's, 10 columns
    imp = make_imputer("vae-dlvm", data=data, overrides={"max_iter": 7})
    params = imp.get_params()
    assert params["latent_dim"] == 20 and params["hidden"] == (64, 64, 64)
    assert params["max_iter"] == 7 and params["variant"] == "vae"
    with pytest.raises(ValueError, match="latent_dim depends on the dataset"):
        make_imputer("vae-dlvm")


# ------------------------------------------------------------ shared flags
def test_shared_flags_parse_seeds_quick_out_and_parameters(tmp_path):
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


def _figure_commands():
    """(parse, argv prefix) of every command line that takes ``--figure``."""
    from benchmarks.perf import SUITES as PERF
    from benchmarks.perf import parse_args as perf_args
    from benchmarks.quality import SUITES as QUALITY
    from benchmarks.studies import rvi_convergence

    for name in QUALITY:
        yield run.parse_args, ["--suite", name]
    for name in PERF:
        yield (lambda argv: perf_args(argv)[1]), ["--suite", name]
    yield rvi_convergence.parse_args, []


def test_figure_means_one_thing_in_every_command(tmp_path, monkeypatch):
    from benchmarks._cli import figure_path, save_figure

    monkeypatch.chdir(tmp_path)
    n = 0
    for parse, prefix in _figure_commands():
        try:
            base = parse(prefix)
        except SystemExit:
            continue
        if not hasattr(base, "figure"):
            continue
        n += 1
        assert base.figure is None, prefix  # absent: no figure
        assert parse([*prefix, "--figure", ""]).figure is None, prefix
        assert parse([*prefix, "--figure", "f.png"]).figure == Path("f.png")
        for unnamed in (".png", "figures/", "figures/.png"):
            with pytest.raises(SystemExit):
                parse([*prefix, "--figure", unnamed])
    assert n >= 8
    assert figure_path("docs/figures/x.png") == Path("docs/figures/x.png")
    import matplotlib.pyplot as plt

    with pytest.raises(ValueError, match="file name"):
        save_figure(plt.figure(), Path(".png"))
    assert save_figure(plt.figure(), None) is None
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_only_save_figure_writes_figures_and_no_stray_png_at_the_root():
    import benchmarks

    root = Path(benchmarks.__file__).parent
    for path in root.rglob("*.py"):
        if path.name == "_cli.py":
            continue
        assert ".savefig(" not in path.read_text(), path
    assert not (root.parent / ".png").exists()


# ------------------------------------------- external peers, studies
def test_external_peers_codes_round_trip_and_the_worker_imports_no_package():
    from benchmarks.quality import external_peers as ep

    X = pd.DataFrame({"x": [1.5, np.nan, -2.0, 0.5],
                      "c": pd.Categorical(["b", "a", None, "b"])})
    categories = {"c": ["a", "b"]}
    C = ep.codes(X, None, categories)
    assert np.array_equal(C, [[1.5, 1.0], [np.nan, 0.0], [-2.0, np.nan],
                              [0.5, 1.0]], equal_nan=True)
    # imputed codes come back rounded and clipped to a category
    filled = ep.decode(X, np.array([[0, 0], [7.0, 0], [0, 2.6], [0, 0]]), categories)
    assert filled.loc[1, "x"] == 7.0 and filled.loc[2, "c"] == "b"
    assert filled.loc[0, "x"] == 1.5 and filled.loc[3, "c"] == "b"  # observed kept
    with pytest.raises(AssertionError, match="training mean"):
        ep.check_not_mean("hyperimpute", np.array([[1.0], [3.0]]),
                          np.array([[np.nan], [np.nan]]), np.array([[2.0], [2.0]]),
                          np.array([False]))
    # the worker runs in the peers' environment, by path: no package imports
    worker = ep.WORKER.read_text()
    assert not re.search(r"^\s*(from|import) (deepimpute|benchmarks)", worker, re.M)
    args = run.parse_args(["--suite", "external-peers", "--datasets", "heart"])
    assert args.outputs == [args.out] and args.out.name == "external_peers.csv"
    with pytest.raises(SystemExit):
        run.parse_args(["--suite", "external-peers", "--quick"])


def test_studies_name_the_csvs_they_write():
    from benchmarks._cli import RESULTS
    from benchmarks.report import parse_command

    expected = {
        "python -m benchmarks.studies.peers_cost --configs remasker-default":
            [RESULTS / "peers_cost.csv"],
        "python -m benchmarks.studies.step_profile --results /tmp/sp":
            [Path("/tmp/sp/step_profile.csv"), Path("/tmp/sp/step_profile_ops.csv")],
        "python -m benchmarks.studies.demo_budget --profile quick":
            [RESULTS / "demo_budget.csv"],
        "python -m benchmarks.studies.mi_diagnosis --imputers mice":
            [RESULTS / "mi_diagnosis.csv"],
        "python -m benchmarks.studies.mi_diagnosis --compare a.csv b.csv":
            [RESULTS / "mi_diagnosis_summary.csv"],
        "python -m benchmarks.studies.speed_compare profile": [],
    }
    for command, outputs in expected.items():
        assert parse_command(command).outputs == outputs, command
    for bad in ("python -m benchmarks.studies.step_profile --methods nope",
                "python -m benchmarks.studies.demo_budget --quick",
                "python -m benchmarks.studies.mi_diagnosis --imputers nope",
                "python -m benchmarks.studies.peers_cost --configs nope"):
        with pytest.raises(SystemExit):
            parse_command(bad)


def test_modern_peers_and_demo_tables_from_their_csvs(tmp_path, monkeypatch):
    from benchmarks.report import renderers
    from benchmarks.studies import demo_budget

    peers = _runner_rows(tmp_path, [
        dict(dataset="yeast", imputer="remasker-default", seed=s,
             nrmse_per_feature=v, rate=0.2) for s, v in ((0, 0.9), (1, 1.1))],
        name="modern_peers.csv")
    _runner_rows(tmp_path, [
        dict(dataset=d, imputer="vsae-default", seed=0, nrmse_per_feature=0.8,
             rate=0.2) for d in ("yeast", "heart")], name="defaults.csv")
    monkeypatch.setattr(renderers, "RESULTS", tmp_path)
    text = renderers.modern_peers([peers])
    assert "| yeast | 0.2 | remasker-default | 2 | 1.0000 |  | 2.0 |" in text
    # the defaults suite's rows on the peers' cells only, the lowest in bold
    assert "| yeast | 0.2 | vsae-default | 1 | **0.8000** |" in text
    assert "heart" not in text
    demo = tmp_path / "demo.csv"
    pd.DataFrame([dict(profile=p, imputer=i, nrmse_per_feature=0.9, seconds=2.0,
                       cpu_seconds=c)
                  for p, i, c in (("full", "mean", 1.0), ("full", "misgan", 9.0),
                                  ("quick", "mean", 0.5))]).to_csv(demo)
    text = demo_budget.markdown(demo)
    assert "| misgan | 0.9000 | 2.0 | 9.0 |  |  |  |" in text
    assert "full 10 s; quick 0 s; the default profile's methods (mean) at the " \
        "full profile's settings 1 s." in text


# ----------------------------------------------------------------- report
def test_report_names_every_result_csv_and_each_is_written_by_its_commands():
    from benchmarks.report import RESULTS, load_manifest, parse_command

    manifest = load_manifest()
    named, derived = set(), set()
    for res in manifest.results.values():
        commands = [c for c in res.commands if not c.lstrip().startswith("#")]
        assert commands, res.id
        written, figures = set(), set()
        for command in commands:
            args = parse_command(command)  # exits on a command the CLI rejects
            written |= {p.resolve() for p in args.outputs}
            if getattr(args, "figure", None) is not None:
                figures.add(Path(args.figure).as_posix())
        for path in res.paths():
            assert path.resolve() in written, (res.id, path.name)
            named.add(path.name)
        derived |= {p.name for p in RESULTS.glob("*.csv") if res.derived(p)}
        for fig in res.figures:  # a committed figure is drawn by its commands
            assert f"docs/figures/{fig}" in figures, (res.id, fig)
    csvs = {p.name for p in RESULTS.glob("*.csv")}
    # a newly committed CSV needs a [results.<id>] entry in manifest.toml
    assert csvs and csvs <= named | derived, sorted(csvs - named - derived)


def test_report_commands_that_the_cli_rejects_fail_to_parse():
    from benchmarks.report import parse_command

    with pytest.raises(SystemExit):
        parse_command("python -m benchmarks.run --suite no-such-suite")
    with pytest.raises(SystemExit):
        parse_command("python -m benchmarks.perf --suite scale --no-such-flag")
    with pytest.raises(ValueError, match="not a 'python -m benchmarks"):
        parse_command("benchmarks/run.py --suite smoke")


@pytest.fixture(scope="module")
def pages():
    """The report's pages rendered once from the committed CSVs."""
    from benchmarks.report import render

    return render()


def test_report_pages_hold_each_result_with_its_source_and_commands(pages):
    from benchmarks.report import PAGES, PLACEHOLDER, _reduced, load_manifest, page_path

    manifest = load_manifest()
    assert set(pages) == {page_path(name) for name in manifest.pages}
    placed = {}
    for name in manifest.pages:
        for line in (PAGES / f"{name}.md").read_text().splitlines():
            m = PLACEHOLDER.match(line)
            if m:
                placed[m.group(1)] = name
    # every result and block is placed on a page, once each
    assert set(manifest.results) | set(manifest.blocks) == set(placed)
    for rid, res in manifest.results.items():
        text = pages[page_path(placed[rid])]
        assert "{{" not in text
        for command in res.commands:
            assert command in text, (rid, command)
        for path in res.paths():
            source = [line for line in text.splitlines()
                      if line.startswith("Source:") and f"/{path.name}`" in line]
            assert len(source) == 1, (rid, path.name)
            # a --quick CSV is labelled as such, never passed off as a full run
            assert ("reduced run" in source[0]) == _reduced(path)


def test_report_renders_a_result_from_its_csv_with_summary_and_guidance(
        tmp_path, monkeypatch):
    import benchmarks.report as report
    from benchmarks.report import renderers

    rows = [dict(dataset="yeast", imputer=name, seed=0, nrmse_pooled_raw=v)
            for name, v in (("vsae", 0.4), ("mean", 0.5), ("missforest", 0.6),
                            ("mice", 0.45))]
    _runner_rows(tmp_path, rows)
    monkeypatch.setattr(report, "RESULTS", tmp_path)
    monkeypatch.setattr(renderers, "RESULTS", tmp_path)
    pages = {p.stem: t for p, t in report.render().items()}
    quality = pages["quality"]
    assert "python -m benchmarks.run --suite uci-mcar" in quality
    assert "vsae has the lowest mean error" in quality and "on 1 of 1 cells" in quality
    assert "Source: `benchmarks/results/uci-mcar.csv` (seeds 0)." in quality
    assert "reduced run" not in quality
    assert "*Not measured yet*" in quality  # the other sections' CSVs are absent
    index = pages["benchmarks"]
    assert "lowest mean error in 1 (cell, metric) pairs: vsae 1." in index
    assert "vsae beats each of mean, missforest, mice on 1 of 1 cells" in index
    assert ("| yeast | numerical |  | mcar 0.5 | vsae 0.4000 (2.0 s) | "
            "vsae 0.4000 (2.0 s) |") in index


def test_report_pages_keep_their_tables_narrow(pages):
    # issue 34: tables cut off at the right; a page's table fits a browser width
    for path, text in pages.items():
        for line in text.splitlines():
            if line.startswith("|"):
                assert line.count("|") - 1 <= 14, (path.name, line[:80])


def test_result_csvs_name_the_estimator_column_imputer():
    from benchmarks._cli import RESULTS

    for path in RESULTS.glob("*.csv"):
        columns = set(pd.read_csv(path, nrows=0).columns)
        assert not columns & {"method", "model"}, path.name


def test_benchmarks_use_the_public_api_and_package_imports():
    import benchmarks

    for path in Path(benchmarks.__file__).parent.rglob("*.py"):
        text = path.read_text()
        assert not re.search(r"deepimpute\.(imputers\.)?_[a-z]", text), path
        assert "sys.path" not in text, path
        bare = re.findall(r"^from (rvi_\w+|profiles|run|report|grid) import", text,
                          re.M)
        assert not bare, (path, bare)


def test_benchmark_commands_in_the_readmes_and_docs_parse():
    from benchmarks._cli import ROOT
    from benchmarks.report import parse_command

    docs = [ROOT / "README.md", ROOT / "benchmarks" / "README.md",
            *(ROOT / "docs").rglob("*.md"), *(ROOT / "docs").rglob("*.rst"),
            *(ROOT / "benchmarks").rglob("*.py")]
    found, bad = 0, []
    for path in docs:
        if "_build" in path.parts:
            continue
        text = path.read_text().replace("\\\n", " ")
        for m in re.finditer(r"python -m benchmarks\.(run|perf|studies\.\w+)"
                             r"(?: [^`\n#]*)?", text):
            command = m.group(0).strip().rstrip(".,;:)'\"")
            words = command.split()
            if ({"--help", "..."} & set(words) or "NAME" in command or "<" in command
                    or words[-1] == "--suite" or words[2] == "benchmarks.perf"
                    and len(words) == 3):
                continue  # a mention, not a command (or a template of one)
            found += 1
            try:
                parse_command(command)
            except SystemExit:  # an outdated command: argparse's usage error
                bad.append(f"{path.relative_to(ROOT)}: {command}")
    assert not bad, bad
    assert found > 100


def test_committed_report_pages_are_the_rendered_ones(pages):
    # after a change to a CSV, a page's prose or the manifest:
    # python -m benchmarks.report (and commit docs/benchmarks*)
    for path, text in pages.items():
        assert path.read_text() == text, f"{path.name} is stale"
