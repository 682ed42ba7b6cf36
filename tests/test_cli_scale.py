"""The command line past one process: ``deepimpute fit``, ``transform`` and
``sample`` of a Parquet dataset (read lazily with Dask, written one file per
partition) and ``fit`` under ``torchrun`` (data-parallel, rank 0 writes)."""

from __future__ import annotations

import builtins
import os
import socket
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from deepimpute.cli import main

pytest.importorskip("pyarrow")


def _table(n=90, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 3)).round(3), columns=["a", "b", "c"])
    X["c"] = X["a"] + 0.1 * X["c"]
    return X.mask(rng.random(X.shape) < 0.2)


def _dataset(tmp_path, X, parts=3):
    folder = tmp_path / "ds"
    folder.mkdir()
    for k, idx in enumerate(np.array_split(np.arange(len(X)), parts)):
        X.iloc[idx].reset_index(drop=True).to_parquet(folder / f"part{k}.parquet")
    return folder


def test_fit_parquet_dataset_then_transform_csv(tmp_path):
    pytest.importorskip("dask.dataframe")
    X = _table()
    folder = _dataset(tmp_path, X)
    X.to_csv(tmp_path / "new.csv", index=False)
    model, out = tmp_path / "m.joblib", tmp_path / "out.csv"
    assert main(["fit", str(folder), "-o", str(model), "--method", "vsae",
                 "--param", "max_iter=2", "-q"]) == 0
    assert main(["transform", str(tmp_path / "new.csv"), "--model", str(model),
                 "-o", str(out), "-q"]) == 0
    got = pd.read_csv(out)
    assert list(got.columns) == list(X.columns)
    assert not got.isna().any().any()
    seen = X.notna().to_numpy()
    np.testing.assert_array_equal(got.to_numpy()[seen], X.to_numpy()[seen])
    # the same model on a Parquet file keeps the file's dtypes
    X.to_parquet(tmp_path / "new.parquet")
    assert main(["transform", str(tmp_path / "new.parquet"), "--model", str(model),
                 "-o", str(tmp_path / "out.parquet"), "-q"]) == 0
    got = pd.read_parquet(tmp_path / "out.parquet")
    assert not got.isna().any().any()
    np.testing.assert_array_equal(got.to_numpy()[seen], X.to_numpy()[seen])


def test_fit_dataset_without_parquet_files(tmp_path, capsys):
    pytest.importorskip("dask.dataframe")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("x")
    assert main(["fit", str(tmp_path / "empty"), "-o", str(tmp_path / "m.joblib"),
                 "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no Parquet files" in err[0]
    assert not (tmp_path / "m.joblib").exists()


def test_fit_dataset_without_dask(tmp_path, capsys, monkeypatch):
    folder = _dataset(tmp_path, _table())
    real = builtins.__import__

    def no_dask(name, *args, **kwargs):
        if name == "dask" or name.startswith("dask."):
            raise ImportError(f"No module named {name!r}")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_dask)
    assert main(["fit", str(folder), "-o", str(tmp_path / "m.joblib"), "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "deepimpute-vae[dask]" in err[0]


def _mixed(n=120, seed=2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = _table(n, seed)
    X["kind"] = pd.Series(rng.choice(["u", "v", "w"], n)).astype("category")
    X["count"] = rng.integers(0, 50, n).astype("float64")
    return X.mask(rng.random(X.shape) < 0.15)


def test_transform_and_sample_a_parquet_dataset(tmp_path, capsys):
    pytest.importorskip("dask.dataframe")
    from deepimpute import persistence

    X = _mixed()
    folder = _dataset(tmp_path, X, parts=3)
    model = tmp_path / "m.joblib"
    assert main(["fit", str(folder), "-o", str(model), "--method", "vsae",
                 "--param", "max_iter=2", "-q"]) == 0
    out = tmp_path / "clean"
    assert main(["transform", str(folder / "*.parquet"), "--model", str(model),
                 "-o", str(out)]) == 0
    assert "imputed" in capsys.readouterr().out
    files = sorted(os.listdir(out))
    assert files == [f"part.{k}.parquet" for k in range(3)]  # one per partition
    assert not os.path.exists(str(out) + ".part")
    got = pd.concat(
        [pd.read_parquet(out / f"part.{k}.parquet") for k in range(3)],
        ignore_index=True,
    )
    # the in-memory transform of the same rows: same names, dtypes and values
    ref = persistence.load(model).estimator.transform(X)
    assert list(got.columns) == list(X.columns)
    assert got.dtypes.equals(ref.dtypes), (got.dtypes, ref.dtypes)
    num = ["a", "b", "c", "count"]
    np.testing.assert_allclose(got[num], ref[num], rtol=1e-5, atol=1e-6)
    pd.testing.assert_series_equal(got["kind"], ref["kind"])
    seen = X[num].notna().to_numpy()
    np.testing.assert_array_equal(got[num].to_numpy()[seen], X[num].to_numpy()[seen])
    # the output exists: one line, nothing written over
    assert main(["transform", str(folder), "--model", str(model), "-o", str(out),
                 "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "already exists" in err[0]
    assert sorted(os.listdir(out)) == files
    # K completed copies: OUT_1 ... OUT_K, the same seed gives the same draws
    for run in ("d", "e"):
        assert main(["sample", str(folder), "--model", str(model), "--n-draws", "2",
                     "-o", str(tmp_path / run), "--seed", "4", "-q"]) == 0
    draws = {
        (run, d): pd.read_parquet(tmp_path / f"{run}_{d}") for run in "de"
        for d in (1, 2)
    }
    pd.testing.assert_frame_equal(draws["d", 1], draws["e", 1])
    assert not draws["d", 1].equals(draws["d", 2])
    assert not draws["d", 1][num].isna().any().any()
    assert list(draws["d", 2].columns) == list(X.columns)


def test_transform_dataset_errors(tmp_path, capsys, monkeypatch):
    pytest.importorskip("dask.dataframe")
    X = _table()
    folder = _dataset(tmp_path, X)
    X.to_csv(tmp_path / "train.csv", index=False)
    csv_model, model = tmp_path / "csv.joblib", tmp_path / "m.joblib"
    assert main(["fit", str(tmp_path / "train.csv"), "-o", str(csv_model),
                 "--param", "max_iter=1", "-q"]) == 0
    assert main(["fit", str(folder), "-o", str(model), "--param", "max_iter=1",
                 "-q"]) == 0
    other = tmp_path / "other"
    other.mkdir()
    X.rename(columns={"c": "z"}).to_parquet(other / "p.parquet")
    cases = [
        (["transform", str(folder), "--model", str(csv_model)], "fitted on a csv"),
        (["transform", str(other), "--model", str(model)], "'c'"),
        (["transform", str(folder), "--model", str(model), "--na-values", "?"],
         "--na-values applies to CSV"),
    ]
    for argv, expected in cases:
        out = tmp_path / "out"
        assert main([*argv, "-o", str(out), "-q"]) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and expected in err[0], (argv, err)
        assert not out.exists() and not (tmp_path / "out.part").exists()
    real = builtins.__import__

    def no_dask(name, *args, **kwargs):
        if name == "dask" or name.startswith("dask."):
            raise ImportError(f"No module named {name!r}")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_dask)
    assert main(["transform", str(folder), "--model", str(model), "-o",
                 str(tmp_path / "out"), "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "deepimpute-vae[dask]" in err[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_fit_under_torchrun_two_processes(tmp_path):
    X = _table(n=120, seed=1)
    X.to_csv(tmp_path / "train.csv", index=False)
    out_dir = tmp_path / "models"
    out_dir.mkdir()
    model = out_dir / "m.joblib"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join([root, env.get("PYTHONPATH", "")])
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
           "--master-addr", "127.0.0.1", "--master-port", str(_free_port()),
           "-m", "deepimpute", "fit", str(tmp_path / "train.csv"), "-o", str(model),
           "--method", "vsae", "--param", "max_iter=2", "--device", "cpu"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert os.listdir(out_dir) == ["m.joblib"]  # one file, no leftovers
    assert done.stdout.count("vsae: fitted on") == 1  # only rank 0 prints
    out = tmp_path / "out.csv"
    assert main(["transform", str(tmp_path / "train.csv"), "--model", str(model),
                 "-o", str(out), "-q"]) == 0
    got = pd.read_csv(out)
    assert not got.isna().any().any()
    seen = X.notna().to_numpy()
    np.testing.assert_array_equal(got.to_numpy()[seen], X.to_numpy()[seen])
