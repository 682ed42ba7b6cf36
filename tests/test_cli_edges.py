"""The command line at its edges (issue 34 items 4-5, issue 31 item 6): columns
empty in every row, a trailing separator, wide encodings, option errors that name
the option, model files that are not models, methods that cannot sample, Parquet
integers without pandas metadata, the summary (values as written, category
counts) and the default lower bound of columns never negative at fit. Every case
runs the real ``main`` on files in a temporary folder."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from deepimpute.cli import _parser, main
from deepimpute.imputers import IMPUTERS

QUICK = ["--max-iter", "2"]


def _write(path, text: str, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def _one_line_error(capsys) -> str:
    # what a terminal shows: a progress bar cleared (\r) before the message
    err = capsys.readouterr().err.rsplit("\r", 1)[-1]
    assert err.startswith("deepimpute: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


# --------------------------------------------------- empty columns, separators
EMPTY = "a,height,b\n1.5,,x\n,,y\n3.5,,x\n4.5,,\n2.5,,y\n"


@pytest.mark.parametrize(
    "method", ["mean", "mice", pytest.param("vsae", marks=pytest.mark.slow)]
)
def test_a_column_empty_in_every_row_is_written_back_as_read(tmp_path, capsys,
                                                             method):
    src, out = _write(tmp_path / "in.csv", EMPTY), tmp_path / "out.csv"
    assert main(["impute", str(src), "-o", str(out), "--method", method,
                 *QUICK]) == 0
    lines = out.read_text().split("\n")
    assert lines[0] == "a,height,b" and len(lines) == 7
    for before, after in zip(EMPTY.split("\n")[1:-1], lines[1:-1], strict=True):
        a, h, b = after.split(",")
        assert h == ""  # the empty column as it was
        assert a and b  # the others filled
        for old, new in zip(before.split(","), (a, h, b), strict=True):
            assert old in ("", new)
    summary = capsys.readouterr().out
    row = next(line for line in summary.splitlines() if line.split()[:1] == ["height"])
    assert row.split()[2] == "0" and "not imputed: empty in every row" in row
    assert "keep_empty_features" in summary


def test_an_empty_column_at_fit_keeps_its_values_at_transform(tmp_path):
    train = _write(tmp_path / "train.csv", EMPTY)
    new = _write(tmp_path / "new.csv", "a,height,b\n,1.8,x\n2.0,,\n")
    model, out = tmp_path / "m.dimp", tmp_path / "out.csv"
    assert main(["fit", str(train), "-o", str(model), "--method", "mean", "-q"]) == 0
    assert main(["transform", str(new), "--model", str(model), "-o", str(out),
                 "-q"]) == 0
    # observed 1.8 kept, the hole of the never-fitted column left empty
    assert out.read_text() == "a,height,b\n3.0,1.8,x\n2.0,,x\n"


def test_a_trailing_separator_gives_a_faithful_file(tmp_path, capsys):
    text = "a,b,\r\n1,x,\r\n,y,\r\n3,x,\r\n,,\r\n"
    src, out = _write(tmp_path / "in.csv", text), tmp_path / "out.csv"
    assert main(["impute", str(src), "-o", str(out), "--method", "mean"]) == 0
    assert out.read_bytes() == b"a,b,\r\n1,x,\r\n2,y,\r\n3,x,\r\n2,x,\r\n"
    assert "(unnamed column 3)" in capsys.readouterr().out


# ---------------------------------------------------------------- encodings
@pytest.mark.parametrize(
    ("encoding", "option"),
    [("utf-16", []), ("utf-16", ["--encoding", "utf-16"]),
     ("utf-16-le", []), ("utf-32", ["--encoding", "utf-32"])],
)
def test_wide_encodings_say_ascii_compatible_only(tmp_path, capsys, encoding,
                                                  option):
    src = _write(tmp_path / "in.csv", "a,b\n1,x\n,y\n", encoding)
    out = tmp_path / "out.csv"
    assert main(["impute", str(src), "-o", str(out), "--method", "mean",
                 *option]) == 2
    err = _one_line_error(capsys)
    assert "ASCII-compatible encodings only" in err and "UTF-8" in err
    assert not out.exists()


# --------------------------------------------------------- option errors
@pytest.mark.parametrize(
    ("args", "blamed"),
    [(["--param", "latent_dim=abc"], "--param latent_dim=abc: "),
     (["--param", "n_draws=0"], "--param n_draws=0: "),
     (["--max-iter", "0"], "--max-iter 0: ")],
)
def test_a_bad_value_blames_the_option_not_the_file(tmp_path, capsys, args, blamed):
    src = _write(tmp_path / "data.csv", "a,b\n1,x\n,y\n3,x\n")
    assert main(["impute", str(src), "-o", str(tmp_path / "o.csv"), *args]) == 2
    err = _one_line_error(capsys)
    assert err.startswith(f"deepimpute: {blamed}") and "data.csv" not in err


def test_param_names_leave_out_deprecated_aliases(tmp_path, capsys):
    cls = next(c for c in IMPUTERS.values() if c._renamed)
    name = next(n for n, c in IMPUTERS.items() if c is cls)
    src = _write(tmp_path / "data.csv", "a,b\n1,x\n,y\n3,x\n")
    assert main(["impute", str(src), "-o", str(tmp_path / "o.csv"), "--method",
                 name, "--param", "nope=1"]) == 2
    listed = _one_line_error(capsys).split("its parameters are: ")[1]
    names = {n.strip(" .\n") for n in listed.split(",")}
    for old, new in cls._renamed.items():
        assert new in names and old not in names


def test_help_shows_the_method_default_and_the_seed(capsys):
    with pytest.raises(SystemExit):
        main(["impute", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: vsae;" in text
    seed = text[text.index("--seed SEED") + len("--seed SEED"):].split(" -q")[0]
    assert "seed" in seed and "default 0" in seed
    for action in _parser()._subparsers._group_actions[0].choices["impute"]._actions:
        assert action.help, f"{action.dest} has no help"


def test_list_prints_plain_text(capsys):
    assert main(["list"]) == 0
    printed = capsys.readouterr().out
    assert not re.search(r":\w+:`|``", printed)
    vad = next(line for line in printed.splitlines() if line.startswith("vad "))
    assert "RVIImputer without relay vectors" in vad


# -------------------------------------------------------------- model files
@pytest.mark.parametrize("trust", [[], ["--trust-pickle"]])
def test_a_csv_given_as_model_is_named_a_text_file(tmp_path, capsys, trust):
    data = _write(tmp_path / "data.csv", "a,b\n1,x\n,y\n3,x\n")
    out = tmp_path / "o.csv"
    assert main(["transform", str(data), "--model", str(data), "-o", str(out),
                 *trust]) == 2
    err = _one_line_error(capsys)
    assert "a text file (a CSV?), not a model" in err and "Error" not in err
    assert not out.exists()


def test_a_damaged_pickle_names_no_python_exception(tmp_path, capsys):
    data = _write(tmp_path / "data.csv", "a,b\n1,x\n,y\n")
    bad = tmp_path / "m.joblib"
    bad.write_bytes(b"\x80\x04\x95\x00binary garbage\x00\xff")
    assert main(["transform", str(data), "--model", str(bad), "-o",
                 str(tmp_path / "o.csv"), "--trust-pickle"]) == 2
    err = _one_line_error(capsys)
    assert "not a model file written by deepimpute fit" in err or (
        "neither a model file" in err)
    assert "Error:" not in err


def test_the_unknown_category_hint_is_an_option(tmp_path, capsys):
    train = _write(tmp_path / "train.csv", "a,b\n1,x\n,y\n3,x\n")
    new = _write(tmp_path / "new.csv", "a,b\n1,z\n,y\n")
    model, out = tmp_path / "m.dimp", tmp_path / "o.csv"
    assert main(["fit", str(train), "-o", str(model), "--method", "mean", "-q"]) == 0
    assert main(["transform", str(new), "--model", str(model), "-o", str(out)]) == 2
    err = _one_line_error(capsys)
    assert "--param handle_unknown=missing" in err and "Pass handle_unknown" not in err
    # the hint works: fitted so, the unknown label is an input the model reads as
    # missing (with a warning), and the file keeps its text: only holes are filled
    assert main(["fit", str(train), "-o", str(model), "--method", "mean", "-q",
                 "--param", "handle_unknown=missing"]) == 0
    with pytest.warns(UserWarning, match="not seen at fit"):
        assert main(["transform", str(new), "--model", str(model), "-o", str(out),
                     "-q"]) == 0
    assert out.read_text() == "a,b\n1,z\n2,y\n"


@pytest.mark.parametrize("holes", [True, False])
def test_sample_with_a_method_that_cannot_sample(tmp_path, capsys, holes):
    train = _write(tmp_path / "train.csv", "a,b\n1,x\n,y\n3,x\n")
    new = _write(tmp_path / "new.csv", "a,b\n1,x\n,y\n" if holes else "a,b\n1,x\n")
    model = tmp_path / "m.dimp"
    assert main(["fit", str(train), "-o", str(model), "--method", "mean", "-q"]) == 0
    assert main(["sample", str(new), "--model", str(model), "-o",
                 str(tmp_path / "d.csv"), "--n-draws", "2"]) == 2
    err = _one_line_error(capsys)
    assert "gives a single imputation" in err and "vsae" in err
    assert not list(tmp_path.glob("d_*"))


# ------------------------------------------------------------------- Parquet
def test_parquet_integers_written_by_plain_pyarrow(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    n = 60
    x = rng.normal(size=n)
    count = np.round(5 + 2 * x + rng.normal(scale=0.3, size=n)).astype(np.int64)
    holes = rng.random(n) < 0.3
    table = pa.table({
        "x": pa.array(x),
        "count": pa.array(count, mask=holes, type=pa.int64()),
        "small": pa.array(rng.integers(0, 4, n), mask=rng.random(n) < 0.2,
                          type=pa.uint8()),
    })
    assert table.schema.pandas_metadata is None
    src, out = tmp_path / "in.parquet", tmp_path / "out.parquet"
    pq.write_table(table, src, row_group_size=25)
    for method in ("mean", "vsae"):
        assert main(["impute", str(src), "-o", str(out), "--method", method, "-q",
                     "--chunk-rows", "25", *QUICK]) == 0
        got = pq.read_table(out)
        assert got.schema.equals(table.schema)
        back = got.column("count").to_numpy()
        np.testing.assert_array_equal(back[~holes], count[~holes])
        assert got.column("count").null_count == 0
        assert back[holes].min() >= count[~holes].min()
        assert got.column("small").null_count == 0
        out.unlink()


# ------------------------------------------------------------------- summary
def test_summary_shows_values_as_written_and_category_counts(tmp_path, capsys):
    rng = np.random.default_rng(3)
    n = 80
    x = rng.normal(size=n)
    df = pd.DataFrame({
        "x": np.round(x, 2),
        "rings": np.round(10 + 3 * x).astype(int),
        "sex": np.where(x > 0.5, "F", np.where(x < -0.5, "I", "M")),
    })
    text = df.astype(str).to_csv(index=False)
    lines = text.split("\n")
    for i in range(1, n, 5):  # holes in rings and sex
        cells = lines[i].split(",")
        cells[1 + (i // 5) % 2] = ""
        lines[i] = ",".join(cells)
    src, out = _write(tmp_path / "in.csv", "\n".join(lines)), tmp_path / "out.csv"
    assert main(["impute", str(src), "-o", str(out), "--method", "mice"]) == 0
    summary = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()
               if line.startswith("  ") and line.split()[0] in df.columns}
    written = pd.read_csv(out)
    before = pd.read_csv(src)
    hole = before["rings"].isna()
    lo, hi = written.loc[hole, "rings"].min(), written.loc[hole, "rings"].max()
    assert summary["rings"].split()[-2:] == [f"[{lo},", f"{hi}]"]  # integers
    observed = before["sex"].value_counts()
    imputed = written.loc[before["sex"].isna(), "sex"].value_counts()
    counts = summary["sex"].split("categorical")[1].split()[1:]
    shown = " ".join(counts)
    obs_part = ", ".join(f"{k} {v}" for k, v in observed.items())
    assert shown.startswith(obs_part)
    for level, k in imputed.items():
        assert re.search(rf"\b{level} {k}\b", shown[len(obs_part):])


# --------------------------------------------------- never-negative columns
def _weights(seed=0, n=300):
    """Weights that grow with a size and sit close to 0 for small sizes, with
    holes where the size is small: a linear model extrapolates below 0 there."""
    rng = np.random.default_rng(seed)
    size = rng.uniform(0.05, 1.0, n)
    weight = np.maximum(size**3 * 2 + rng.normal(scale=0.01, size=n), 0.001)
    df = pd.DataFrame({"size": size, "weight": weight})
    hole = (rng.random(n) < 0.5) & (size < 0.3)
    df.loc[hole, "weight"] = np.nan
    return df, hole


def test_a_never_negative_column_is_not_imputed_negative():
    from deepimpute.imputers import MICEImputer

    df, hole = _weights()
    free = MICEImputer(random_state=0, min_value=[-np.inf, -np.inf])
    assert free.fit_transform(df)["weight"][hole].min() < 0  # the case exists
    out = MICEImputer(random_state=0).fit_transform(df)["weight"]
    assert out[hole].min() >= 0.0
    pd.testing.assert_series_equal(out[~hole], df["weight"][~hole])
    for draw in MICEImputer(random_state=0).fit(df).sample(df, 3, random_state=1):
        assert draw["weight"][hole].min() >= 0.0
    # a column with negative values keeps its unbounded imputations
    shifted = df.assign(weight=df["weight"] - 0.5)
    low = MICEImputer(random_state=0).fit_transform(shifted)["weight"][hole].min()
    assert low < -0.5


def test_the_command_line_keeps_never_negative_columns_non_negative(tmp_path,
                                                                    capsys):
    df, hole = _weights()
    src, out = tmp_path / "w.csv", tmp_path / "o.csv"
    df.round(4).to_csv(src, index=False)
    assert main(["impute", str(src), "-o", str(out), "--method", "mice"]) == 0
    assert pd.read_csv(out)["weight"].min() >= 0
    row = next(line for line in capsys.readouterr().out.splitlines()
               if line.split()[:1] == ["weight"])
    assert not re.search(r"\[-", row)


def test_min_value_minus_inf_on_the_command_line_removes_the_bound(tmp_path):
    df, hole = _weights()
    src = tmp_path / "w.csv"
    df.round(4).to_csv(src, index=False)
    outs = {}
    for extra in ([], ["--param", "min_value=-inf"]):
        out = tmp_path / f"o{len(extra)}.csv"
        assert main(["impute", str(src), "-o", str(out), "--method", "mice", "-q",
                     *extra]) == 0
        outs[len(extra)] = pd.read_csv(out)["weight"]
    assert outs[0].min() >= 0 and outs[2].min() < 0
    pd.testing.assert_series_equal(outs[0][~hole], outs[2][~hole])
