"""The ``deepimpute`` command: impute a CSV file, the demo, the list."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deepimpute.cli import main
from deepimpute.datasets import load_yeast
from deepimpute.imputers import IMPUTERS


@pytest.fixture
def holes(tmp_path):
    """A mixed table (yeast's numbers plus a string column) with 20 % holes."""
    rng = np.random.default_rng(0)
    df = load_yeast().frame.iloc[:200].reset_index(drop=True)
    df["site"] = rng.choice(["north", "south", "east"], size=len(df))
    df = df.mask(rng.random(df.shape) < 0.2)
    path = tmp_path / "holes.csv"
    df.to_csv(path, index=False)
    return path, pd.read_csv(path)


def _run(path, out, *args):
    return main(["impute", str(path), "-o", str(out), "-q", *args])


@pytest.mark.parametrize("method", ["mean", "vsae"])
def test_impute_fills_every_hole_and_keeps_observed_cells(holes, tmp_path, method):
    path, before = holes
    out = tmp_path / "clean.csv"
    assert _run(path, out, "--method", method, "--max-iter", "2") == 0
    after = pd.read_csv(out)
    assert list(after.columns) == list(before.columns)
    assert not after.isna().any().any()
    observed = before.notna()
    pd.testing.assert_frame_equal(after[observed], before[observed])
    assert set(after["site"]) <= {"north", "south", "east"}


def test_param_reaches_the_estimator(holes, tmp_path):
    path, _ = holes
    base = ["--method", "vsae", "--max-iter", "2"]
    outs = []
    changed = ["--param", "numerical_scale=1.0", "--param", "mask_decoder=False"]
    for extra in ([], changed):
        out = tmp_path / f"clean{len(outs)}.csv"
        assert _run(path, out, *base, *extra) == 0
        outs.append(pd.read_csv(out).select_dtypes("number").to_numpy())
    assert not np.allclose(outs[0], outs[1])
    # the same parameters give the same file (seeded)
    again = tmp_path / "again.csv"
    assert _run(path, again, *base) == 0
    np.testing.assert_array_equal(pd.read_csv(again).select_dtypes("number"),
                                  outs[0])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--param", "no_such=1"], "no parameter 'no_such'"),
        (["--param", "justaword"], "expects KEY=VALUE"),
        (["--param", "column_spec=None"], "no parameter 'column_spec'"),
        (["--param", "n_draws=-1", "--method", "rvi"], "n_draws"),
        (["--categorical", "nope"], "has no column 'nope'"),
    ],
)
def test_bad_arguments_name_the_problem(holes, tmp_path, capsys, args, message):
    path, _ = holes
    out = tmp_path / "clean.csv"
    assert _run(path, out, "--max-iter", "1", *args) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_unreadable_input(tmp_path, capsys):
    assert _run(tmp_path / "missing.csv", tmp_path / "o.csv") == 2
    assert "cannot read" in capsys.readouterr().err


def test_demo_quick_prints_the_table(capsys):
    assert main(["demo", "--quick", "--methods", "mean", "sklearn-iterative"]) == 0
    printed = capsys.readouterr().out
    assert "| mean |" in printed and "| sklearn-iterative |" in printed
    rows = [line for line in printed.splitlines() if line.startswith("| mean |")]
    per_feature = float(rows[0].split("|")[3])
    assert 0.9 < per_feature < 1.1  # the column mean scores about 1 per feature


def test_demo_default_is_a_subset_and_names_the_full_run(capsys, monkeypatch):
    from deepimpute import cli

    assert set(cli.DEMO_DEFAULT) < set(cli._demo_methods("full")) <= (
        set(IMPUTERS) | {"sklearn-iterative"}
    )
    assert cli._demo_methods("quick") == cli._demo_methods("full")
    # the default profile at its own settings, on two cheap methods
    monkeypatch.setattr(cli, "DEMO_DEFAULT", ("mean", "mice"))
    assert main(["demo"]) == 0
    printed = capsys.readouterr().out
    assert "| mice |" in printed and "| vsae |" not in printed
    hint = printed.strip().splitlines()[-1]
    assert "deepimpute demo --full" in hint and "misgan" in hint and "mice" not in hint
    with pytest.raises(SystemExit):
        main(["demo", "--full", "--quick"])


def test_list_names_every_imputer(capsys):
    assert main(["list"]) == 0
    printed = capsys.readouterr().out
    assert {line.split()[0] for line in printed.splitlines()} == set(IMPUTERS)


@pytest.fixture
def with_images(tmp_path):
    """A numerical column, two 2x2 'images' (pixels in [0, 1]) and a label."""
    rng = np.random.default_rng(1)
    n = 120
    base = rng.random((n, 1))
    df = pd.DataFrame({"x": rng.normal(size=n)})
    for name in ("a_", "b_"):
        pix = np.clip(base + 0.1 * rng.normal(size=(n, 4)), 0, 1)
        for k in range(4):
            df[f"{name}{k}"] = pix[:, k]
    df["label"] = np.where(base[:, 0] > 0.5, "hi", "lo")
    df.loc[rng.random(n) < 0.3, [f"b_{k}" for k in range(4)]] = np.nan  # whole image
    df.loc[rng.random(n) < 0.2, "x"] = np.nan
    df.loc[rng.random(n) < 0.2, "label"] = np.nan
    path = tmp_path / "images.csv"
    df.to_csv(path, index=False)
    return path, pd.read_csv(path)


def test_image_groups(with_images, tmp_path, capsys):
    path, before = with_images
    out = tmp_path / "clean.csv"
    args = ["impute", str(path), "-o", str(out), "--method", "vsae", "--max-iter", "2",
            "--image", "a_=2x2", "--image", "b_=2x2"]
    assert main(args) == 0
    summary = capsys.readouterr().out
    # one line per attribute: the hidden images as one image attribute
    assert any(line.split()[:2] == ["b_", "image"] for line in summary.splitlines())
    assert not any(line.split()[:1] == ["b_0"] for line in summary.splitlines())
    after = pd.read_csv(out)
    assert list(after.columns) == list(before.columns)
    assert not after.isna().any().any()
    observed = before.notna()
    pd.testing.assert_frame_equal(after[observed], before[observed])
    pixels = after[[f"b_{k}" for k in range(4)]].to_numpy()
    assert ((pixels >= 0) & (pixels <= 1)).all()


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (["a_=3x3"], "4 columns start with 'a_', but shape 3x3 needs 9"),
        (["a_"], "expects PREFIX=HxW"),
        (["a_=2xtwo"], "expects PREFIX=HxW"),
        (["a_=2x2", "a_=1x4"], "already in another image"),
    ],
)
def test_bad_image_groups(with_images, tmp_path, capsys, image, message):
    path, _ = with_images
    args = [f"--image={item}" for item in image]
    assert _run(path, tmp_path / "o.csv", *args) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "args",
    [[], ["impute", "data.csv"], ["impute", "data.csv", "-o", "x.csv", "--bogus"],
     ["transform", "data.csv", "-o", "x.csv"], ["impute", "x", "-o", "y", "--method"]],
)
def test_usage_errors_are_one_line(capsys, args):
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("deepimpute: "), err
