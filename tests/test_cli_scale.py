"""The command line past one process: ``deepimpute fit`` from a Parquet dataset
(read lazily with Dask) and under ``torchrun`` (data-parallel, rank 0 writes)."""

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
