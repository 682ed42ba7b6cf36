"""The command line as a cleaning tool (issue 18): fidelity, missing markers and
reading options, fit once / apply many, formats and chunks, progress and summary,
errors. Every case runs the real ``main`` on files in a temporary folder."""

from __future__ import annotations

import csv
import io
import re

import numpy as np
import pandas as pd
import pytest

from deepimpute import _files
from deepimpute.cli import main

QUICK = ["--max-iter", "2"]


def _impute(src, out, *args):
    return main(["impute", str(src), "-o", str(out), "-q", *args])


def _write(path, text: str, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


# ---------------------------------------------------------- random CSV files
def _random_csv(
    seed: int, holes: float, n: int | None = None
) -> tuple[str, list[list[bool]], str]:
    """A CSV text with formatted numbers, leading zeros, quoted fields, unicode and
    LF or CRLF endings; the per-row mask of its empty (missing) fields."""
    rng = np.random.default_rng(seed)
    n = n or int(rng.integers(8, 30))
    end = "\r\n" if seed % 2 else "\n"
    cols = {
        "count": [str(v) for v in rng.integers(-50, 500, n)],
        "price": [f"{v:.2f}" for v in rng.normal(20, 5, n)],
        "zip": [f"{v:05d}" for v in rng.choice([2139, 501, 10001, 94105], n)],
        "name": [
            rng.choice(['"Smith, J"', '"O""Neil"', "Zoë", "Łódź", '"a\nb"', "plain"])
            for _ in range(n)
        ],
        "tiny": [f"{v:.3e}" for v in rng.exponential(1e-4, n)],
    }
    names = list(cols)
    rows, mask = [], []
    for i in range(n):
        hole = [bool(rng.random() < holes) for _ in names]
        if i < 2:
            hole = [False] * len(names)  # every column keeps observed values
        cells = ("" if h else cols[c][i] for c, h in zip(names, hole, strict=True))
        rows.append(",".join(cells))
        mask.append(hole)
    last = "" if seed % 3 == 0 else end  # with and without a final line ending
    header = 'count,"price",zip,name,tiny'
    return end.join([header, *rows]) + last, mask, end


def _cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.mark.parametrize("seed", range(6))
def test_no_missing_cell_gives_the_same_bytes(tmp_path, seed):
    text, _, _ = _random_csv(seed, holes=0.0)
    src = _write(tmp_path / "in.csv", text)
    out = tmp_path / "out.csv"
    assert _impute(src, out, "--method", "mean") == 0
    assert out.read_bytes() == src.read_bytes()


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("method", ["mean", "vsae"])
def test_only_missing_cells_change(tmp_path, seed, method):
    text, mask, end = _random_csv(seed, holes=0.25)
    src = _write(tmp_path / "in.csv", text)
    out = tmp_path / "out.csv"
    assert _impute(src, out, "--method", method, *QUICK) == 0
    written = out.read_bytes().decode()
    before, after = _cells(text), _cells(written)
    assert len(after) == len(before) and after[0] == before[0]
    # line endings kept: the same number of each, whatever was imputed
    assert written.count("\r\n") == text.count("\r\n")
    assert written.endswith(end) == text.endswith(end)
    observed = {0: set(), 2: set(), 3: set()}
    for row, hole in zip(before[1:], mask, strict=True):
        for j in observed:
            if not hole[j]:
                observed[j].add(row[j])
    for row_b, row_a, hole in zip(before[1:], after[1:], mask, strict=True):
        for j, (b, a) in enumerate(zip(row_b, row_a, strict=True)):
            if not hole[j]:
                assert a == b  # an observed cell: its exact text
                continue
            assert a != ""
            if j == 0:
                assert re.fullmatch(r"-?\d+", a)  # an integer column stays integer
            elif j == 1:
                assert re.fullmatch(r"-?\d+\.\d\d", a)  # two decimals, as the column
            elif j == 4:
                assert re.fullmatch(r"-?\d\.\d{3}e[+-]\d\d", a)
            else:  # zip codes (leading zeros) and names are categories
                assert a in observed[j]


@pytest.mark.parametrize(
    ("text", "args", "expected"),
    [
        # the examples: zip codes, integers, literal markers, quoted ""
        ("zip,n\n02139,3\n,4\n00501,\n02139,5\n", [],
         ["02139,3", "02139,4", "00501,4", "02139,5"]),
        ("a,b\nNA,1\nNone,2\n\"\",3\nx,\n", [], ["NA,1", "None,2", '"",3', "x,2"]),
        # a one-column file keeps its row with an empty cell
        ("v\n1\n\n3\n5\n", [], ["1", "3", "3", "5"]),
        # leading zeros read as numbers only when asked; the width is kept
        ("zip,n\n02139,3\n,4\n00501,5\n", ["--numeric", "zip"],
         ["02139,3", "01320,4", "00501,5"]),
        # --categorical: an integer column imputed by its mode, as its text
        ("k,n\n7,1\n7,2\n,3\n1,4\n", ["--categorical", "k"],
         ["7,1", "7,2", "7,3", "1,4"]),
        # a quoted column gets a quoted imputation
        ('s,n\n"x",1\n"x",2\n,3\n', [], ['"x",1', '"x",2', '"x",3']),
        # spaces after the separator: still numbers; the spaces are kept
        ("a, b\n1, 2\n, 4\n3,\n", [], ["1, 2", "2, 4", "3,3"]),
        # a byte order mark stays
        ("\ufeffa,b\n1,x\n,x\n", [], ["1,x", "1,x"]),
        # an empty line between rows of a wide file is kept, not a row
        ("a,b\n1,2\n\n3,\n", [], ["1,2", "", "3,2"]),
    ],
)
def test_fidelity_cases(tmp_path, text, args, expected):
    src = _write(tmp_path / "in.csv", text)
    out = tmp_path / "out.csv"
    assert _impute(src, out, "--method", "mean", *args) == 0
    lines = out.read_text().split("\n")
    assert lines[0] == text.split("\n")[0]
    assert lines[1:-1] == expected and lines[-1] == ""


def test_duplicate_header_names_are_written_back(tmp_path):
    src = _write(tmp_path / "in.csv", "a,a\n1,2\n,2\n3,\n")
    out = tmp_path / "out.csv"
    # the second 'a' is 'a.1' for the options; the file keeps its header
    assert _impute(src, out, "--method", "mean", "--categorical", "a.1") == 0
    assert out.read_text() == "a,a\n1,2\n2,2\n3,2\n"


# ---------------------------------------------- markers, encoding, separator
@pytest.mark.parametrize(
    ("text", "args", "expected"),
    [
        ("a,b\nNA,1\n?,2\n3,\n", ["--na-values", "NA,?"], ["3,1", "3,2", "3,2"]),
        ("a,b\nNA,1\n?,2\n3,\n", ["--na-values", "?"], ["NA,1", "3,2", "3,2"]),
        ("a,b\nNone,1\nnull,2\n3,\n", ["--keep-default-na"], ["3,1", "3,2", "3,2"]),
        # a quoted marker is a value
        ('a,b\n"NA",1\nNA,2\nx,\nx,4\n', ["--na-values", "NA"],
         ['"NA",1', "x,2", "x,2", "x,4"]),
        ("a;b\n1;2\n;4\n", [], ["1;2", "1;4"]),  # sniffed separator
        ("a\tb\n1\t2\n\t4\n", [], ["1\t2", "1\t4"]),
        ("a|b\n1|2\n|4\n", ["--sep", "|"], ["1|2", "1|4"]),
    ],
)
def test_markers_and_separators(tmp_path, capsys, text, args, expected):
    src = _write(tmp_path / "in.csv", text)
    out = tmp_path / "out.csv"
    assert main(["impute", str(src), "-o", str(out), "--method", "mean", *args]) == 0
    assert out.read_text().split("\n")[1:-1] == expected
    printed = capsys.readouterr().out
    assert "missing markers: ''" in printed
    for marker in ("NA", "?"):
        if "--na-values" in args and marker in args[args.index("--na-values") + 1]:
            assert repr(marker) in printed


def test_latin1_file_with_encoding_option(tmp_path):
    src = _write(tmp_path / "in.csv", "ville,n\nMünchen,1\nMünchen,2\n,3\n", "latin-1")
    out = tmp_path / "out.csv"
    assert _impute(src, out, "--method", "mean", "--encoding", "latin-1") == 0
    assert out.read_bytes() == src.read_bytes().replace(b"\n,3", b"\nM\xfcnchen,3")


def test_header_only_file_is_copied(tmp_path, capsys):
    src = _write(tmp_path / "in.csv", "a,b\r\n")
    out = tmp_path / "out.csv"
    assert main(["impute", str(src), "-o", str(out)]) == 0
    assert out.read_bytes() == b"a,b\r\n"
    assert "nothing to impute" in capsys.readouterr().out


# ------------------------------------------------------ fit once, apply many
@pytest.fixture
def train_and_new(tmp_path):
    text, _, _ = _random_csv(11, holes=0.2, n=200)  # sees every category
    new, _, _ = _random_csv(12, holes=0.3)
    return _write(tmp_path / "train.csv", text), _write(tmp_path / "new.csv", new)


@pytest.mark.parametrize("method", ["mean", "vsae"])
def test_fit_then_transform_equals_impute(tmp_path, train_and_new, method):
    train, _ = train_and_new
    model, a, b = tmp_path / "m.joblib", tmp_path / "a.csv", tmp_path / "b.csv"
    common = ["--method", method, *QUICK, "-q"]
    assert main(["fit", str(train), "-o", str(model), *common]) == 0
    assert main(["transform", str(train), "--model", str(model), "-o", str(a),
                 "-q"]) == 0
    assert _impute(train, b, *common) == 0
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != train.read_bytes()


def test_transform_in_chunks_gives_the_same_file(tmp_path, train_and_new):
    train, new = train_and_new
    model = tmp_path / "m.joblib"
    assert main(["fit", str(train), "-o", str(model), "--method", "vsae", *QUICK,
                 "-q"]) == 0
    outs = []
    for rows in (3, 65536):
        out = tmp_path / f"out{rows}.csv"
        assert main(["transform", str(new), "--model", str(model), "-o", str(out),
                     "--chunk-rows", str(rows), "-q"]) == 0
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]


def test_sample_writes_k_completed_copies(tmp_path, train_and_new):
    train, new = train_and_new
    model = tmp_path / "m.joblib"
    assert main(["fit", str(train), "-o", str(model), "--method", "vsae", *QUICK,
                 "-q"]) == 0
    pattern = str(tmp_path / "draw{}.csv")
    assert main(["sample", str(new), "--model", str(model), "-o", pattern,
                 "--n-draws", "3", "-q"]) == 0
    draws = [(tmp_path / f"draw{k}.csv").read_text() for k in (1, 2, 3)]
    before = _cells(new.read_text())
    for text in draws:
        after = _cells(text)
        assert len(after) == len(before)
        for rb, ra in zip(before, after, strict=True):
            assert all(a == b for a, b in zip(ra, rb, strict=True) if b != "")
            assert all(a != "" for a in ra)
    assert len(set(draws)) == 3  # independent draws differ
    assert main(["sample", str(new), "--model", str(model), "-o",
                 str(tmp_path / "d.csv"), "--n-draws", "2", "-q"]) == 0
    assert (tmp_path / "d_1.csv").exists() and (tmp_path / "d_2.csv").exists()


def test_a_model_fitted_on_a_gpu_loads_on_the_cpu(tmp_path, train_and_new, capsys):
    import torch

    from deepimpute import persistence

    if torch.cuda.is_available():
        pytest.skip("checks the machine without a GPU")
    train, new = train_and_new
    model = tmp_path / "m.joblib"
    assert main(["fit", str(train), "-o", str(model), "--method", "vsae", *QUICK,
                 "-q"]) == 0
    saved = persistence.load(model)
    saved.estimator.device_ = "cuda:0"  # as if fitted on a GPU
    persistence.save(saved, tmp_path / "gpu.joblib")
    outs = []
    for name in ("m.joblib", "gpu.joblib"):
        out = tmp_path / f"{name}.csv"
        assert main(["transform", str(new), "--model", str(tmp_path / name), "-o",
                     str(out)]) == 0
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    err = capsys.readouterr().err
    assert "note: --model" in err and "loaded on the CPU" in err


def test_transform_checks_the_columns(tmp_path, train_and_new, capsys):
    train, _ = train_and_new
    model = tmp_path / "m.joblib"
    assert main(["fit", str(train), "-o", str(model), "--method", "mean", "-q"]) == 0
    other = _write(tmp_path / "other.csv", "count,price,zip,name,extra\n1,2,3,4,5\n")
    out = tmp_path / "out.csv"
    assert main(["transform", str(other), "--model", str(model), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "missing 'tiny'" in err and "not in the model 'extra'" in err
    assert not out.exists()


def test_transform_names_a_cell_that_is_not_a_number(tmp_path, capsys):
    train = _write(tmp_path / "train.csv", "a,b\n1.5,x\n,y\n2.5,x\n")
    new = _write(tmp_path / "new.csv", "a,b\n1.5,x\nNA,y\n")
    model, out = tmp_path / "m.joblib", tmp_path / "out.csv"
    assert main(["fit", str(train), "-o", str(model), "--method", "mean", "-q"]) == 0
    assert main(["transform", str(new), "--model", str(model), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "new.csv: line 3, column 'a': 'NA' is not a number" in err
    assert not out.exists()
    # named as a marker, the cell is imputed
    assert main(["transform", str(new), "--model", str(model), "-o", str(out), "-q",
                 "--na-values", "NA"]) == 0
    assert out.read_text() == "a,b\n1.5,x\n2.0,y\n"


# ------------------------------------------------------------------- Parquet
def _parquet_frame(n=12):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({
        "i": pd.array(rng.integers(0, 9, n), dtype="Int64"),
        "f": rng.normal(size=n),
        "c": pd.Categorical(rng.choice(["a", "b", "c"], n)),
        "s": pd.Series(rng.choice(["x", "y"], n), dtype=object),
        "b": pd.array(rng.random(n) < 0.5, dtype="boolean"),
    })
    for col in df.columns:
        df.loc[rng.random(n) < 0.25, col] = None
    return df


def test_parquet_round_trip_keeps_every_dtype(tmp_path):
    pytest.importorskip("pyarrow")
    df = _parquet_frame()
    src, out, chunked = (tmp_path / n for n in ("in.parquet", "o.parquet",
                                                "c.parquet"))
    df.to_parquet(src, row_group_size=5)
    assert _impute(src, out, "--method", "mean") == 0
    assert _impute(src, chunked, "--method", "mean", "--chunk-rows", "5") == 0
    back = pd.read_parquet(src)
    for path in (out, chunked):
        got = pd.read_parquet(path)
        pd.testing.assert_series_equal(got.dtypes, back.dtypes)
        assert not got.isna().any().any()
        observed = back.notna()
        for col in back.columns:
            pd.testing.assert_series_equal(got[col][observed[col]],
                                           back[col][observed[col]])
    pd.testing.assert_frame_equal(pd.read_parquet(out), pd.read_parquet(chunked))


def test_parquet_datetimes_are_imputed_or_named(tmp_path, capsys):
    pytest.importorskip("pyarrow")
    df = pd.DataFrame({"f": [1.0, None, 3.0, 4.0],
                       "t": pd.to_datetime(["2020-01-01", None, "2020-01-03",
                                            "2020-01-05"])})
    src, out = tmp_path / "in.parquet", tmp_path / "out.parquet"
    df.to_parquet(src)
    rc = _impute(src, out, "--method", "mean")
    if rc == 0:  # the encoder supports datetimes: every dtype kept
        got = pd.read_parquet(out)
        assert got.dtypes.equals(df.dtypes) and not got.isna().any().any()
    else:  # else a one-line error naming the column, and no output
        assert rc == 2
        assert "column 't' (datetime64" in capsys.readouterr().err
        assert not out.exists()


# ------------------------------------------------------- progress and summary
def test_progress_on_stderr_and_summary(tmp_path, capsys):
    src = _write(tmp_path / "in.csv", "x,k\n1.5,a\n,b\n3.5,\n2.5,a\n")
    out = tmp_path / "out.csv"
    assert main(["impute", str(src), "-o", str(out), "--method", "vsae",
                 *QUICK]) == 0
    captured = capsys.readouterr()
    assert "epochs" in captured.err and "transform" in captured.err
    rows = {line.split()[0]: line.split() for line in captured.out.splitlines()[3:]}
    assert rows["x"][:3] == ["x", "numerical", "1"]
    assert " ".join(rows["x"][3:5]) == "[1.5, 3.5]"  # observed range
    assert rows["k"][:3] == ["k", "categorical", "1"]
    assert _impute(src, out, "--method", "vsae", *QUICK) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


# -------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("name", "content", "extra", "message"),
    [
        ("empty.csv", b"", [], "empty.csv: the file is empty"),
        ("latin.csv", b"a,b\n\xe9,1\n,2\n", [], "byte 4 (line 2) is not valid utf-8"),
        ("x.csv", b"a,b\n1,2\n", ["--encoding", "klingon"], "unknown encoding"),
        ("data.json", b'[{"a": 1}]', [], "unknown file format '.json'"),
        ("short.csv", b"a,b\n1,2\n3\n", [], "line 3 has 1 fields, the header has 2"),
        ("open.csv", b'a,b\n"x,1\n', [], 'line 2: a quoted field is never closed'),
        ("mac.csv", b"a,b\r1,2\r,3\r", [], "lone CR"),
        ("text.csv", b"a,b\n1,2\n,3\n", ["--numeric", "zz"], "has no column 'zz'"),
        ("num.csv", b"a,b\nx,2\n,3\n", ["--numeric", "a"], "'x' is not a number"),
        ("x.csv", b"a,b\n1,2\n,3\n", ["--param", "nope=1"], "no parameter 'nope'"),
        ("x.csv", b"a,b\n1,2\n", ["-o", "{tmp}/no/dir/out.csv"],
         "output folder"),
        ("x.csv", b"a,b\n1,2\n,3\n", ["-o", "{tmp}/out.parquet"],
         "but {tmp}/x.csv is a csv file"),
        ("x.csv", b"a,b\n", ["--format", "csv", "--method", "mean", "--fit"],
         "no rows to fit"),
        ("x.csv", b"a,b\n1,2\n", ["--model", "{tmp}/none.joblib", "--transform"],
         "none.joblib: no such file"),
        ("x.csv", b"a,b\n1,2\n", ["--model", "{tmp}/x.csv", "--transform"],
         "not a model file"),
        ("x.parquet", b"not parquet", [], "cannot read as Parquet"),
        ("x.csv", b"a,b\n1,2\n", ["--chunk-rows", "0"], "--chunk-rows must be at"),
        ("x.parquet", b"", ["--categorical", "a"], "--categorical applies to CSV"),
    ],
)
def test_user_errors_are_one_line_with_exit_code_2(
    tmp_path, capsys, name, content, extra, message
):
    src = tmp_path / name
    src.write_bytes(content)
    extra = [e.replace("{tmp}", str(tmp_path)) for e in extra]
    out = str(tmp_path / "out.csv")
    if "-o" in extra:
        out = extra[extra.index("-o") + 1]
        extra = [e for e in extra if e not in ("-o", out)]
    command = "impute"
    for flag in ("--fit", "--transform"):
        if flag in extra:
            command = flag[2:]
            extra.remove(flag)
    if command == "fit":
        out = str(tmp_path / "m.joblib")
    if name.endswith(".parquet"):
        pytest.importorskip("pyarrow")
    args = [command, str(src), "-o", out, *extra]
    if command != "transform":
        args += ["--method", "mean"] if "--method" not in extra else []
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message.replace("{tmp}", str(tmp_path)) in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("deepimpute: ")
    assert not (tmp_path / "out.csv").exists()


def test_reader_keeps_raw_fields(tmp_path):
    src = _write(tmp_path / "in.csv", 'a,"b ""q"""\r\n"1,5",x\r\n"multi\nline",\r\n')
    with _files.CsvReader(src) as reader:
        assert reader.names == ["a", 'b "q"'] and reader.header_end == "\r\n"
        (chunk,) = list(reader.chunks())
    assert chunk.fields == [['"1,5"', "x"], ['"multi\nline"', ""]]
    assert chunk.ends == ["\r\n", "\r\n"] and chunk.lines == [2, 3]
