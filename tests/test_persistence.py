"""Model files that load without running code (deepimpute.persistence, the CLI's
model file): every imputer round-trips, a pickle made to run a command is refused
before it runs, a pickle loads in the command line only when trusted, and no
command writes over its own input or model."""

import os
import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
from seeded_outputs import _table

from deepimpute import persistence
from deepimpute.cli import main
from instances import CLASSES, tiny


class _RunsACommand:
    """A pickle whose loading runs a shell command (what an attacker sends)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_every_imputer_round_trips(name, tmp_path):
    X = _table()
    est = tiny(name).fit(X)
    path = tmp_path / "model.dimp"
    persistence.save(est, path)
    loaded = persistence.load(path)
    assert type(loaded) is type(est)
    pd.testing.assert_frame_equal(loaded.transform(X), est.transform(X))


def test_a_file_that_runs_code_is_refused_before_it_runs(tmp_path):
    marker = tmp_path / "ran"
    payload = persistence.MAGIC + b"1\n" + pickle.dumps(_RunsACommand(marker))
    path = tmp_path / "evil.dimp"
    path.write_bytes(payload)
    with pytest.raises(persistence.UntrustedModelError, match="os.system|posix"):
        persistence.load(path)
    assert not marker.exists()
    # nested inside a trusted object, and through the command line
    inner = {"estimator": _RunsACommand(marker)}
    path.write_bytes(persistence.MAGIC + b"1\n" + pickle.dumps(inner))
    with pytest.raises(persistence.UntrustedModelError):
        persistence.load(path)
    new = tmp_path / "new.csv"
    new.write_text("a,b\n1,\n2,3\n")
    assert main(["transform", str(new), "--model", str(path), "-o",
                 str(tmp_path / "out.csv")]) == 2
    assert not marker.exists() and not (tmp_path / "out.csv").exists()


def test_a_pickle_loads_in_the_command_line_only_when_trusted(tmp_path, capsys):
    train = tmp_path / "train.csv"
    train.write_text("a,b\n1,2\n,3\n4,\n5,6\n")
    model = tmp_path / "m.dimp"
    assert main(["fit", str(train), "-o", str(model), "--method", "mean", "-q"]) == 0
    trusted = tmp_path / "m.joblib"
    joblib.dump(persistence.load(model), trusted)
    out = tmp_path / "out.csv"
    assert main(["transform", str(train), "--model", str(trusted), "-o",
                 str(out)]) == 2
    err = capsys.readouterr().err
    assert "--trust-pickle" in err and "run any code" in err and not out.exists()
    assert main(["transform", str(train), "--model", str(trusted), "-o", str(out),
                 "--trust-pickle", "-q"]) == 0
    ref = tmp_path / "ref.csv"
    assert main(["transform", str(train), "--model", str(model), "-o", str(ref),
                 "-q"]) == 0
    assert out.read_bytes() == ref.read_bytes()
    # a malicious pickle with --trust-pickle is the caller's choice; without it,
    # it never runs
    marker = tmp_path / "ran"
    with open(tmp_path / "evil.joblib", "wb") as f:
        pickle.dump(_RunsACommand(marker), f)
    assert main(["transform", str(train), "--model", str(tmp_path / "evil.joblib"),
                 "-o", str(out.with_name("o2.csv"))]) == 2
    assert not marker.exists()


def test_save_is_atomic(tmp_path):
    path = tmp_path / "m.dimp"
    persistence.save({"a": np.arange(3)}, path)
    before = path.read_bytes()
    with pytest.raises((pickle.PicklingError, TypeError, AttributeError)):
        persistence.save({"a": lambda: 0}, path)  # fails while writing
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.dimp"]  # no temporary file left


def test_no_command_writes_over_its_input_or_model(tmp_path, capsys):
    data = tmp_path / "data.csv"
    data.write_text("a,b\n1,2\n,3\n4,\n")
    before = data.read_bytes()
    assert main(["fit", str(data), "-o", str(data), "--method", "mean", "-q"]) == 2
    assert main(["impute", str(data), "-o", str(data), "--method", "mean"]) == 2
    assert data.read_bytes() == before
    model = tmp_path / "m.dimp"
    assert main(["fit", str(data), "-o", str(model), "--method", "mean", "-q"]) == 0
    saved = model.read_bytes()
    assert main(["transform", str(data), "--model", str(model), "-o",
                 str(model)]) == 2
    assert model.read_bytes() == saved and data.read_bytes() == before
    assert "never overwritten" in capsys.readouterr().err
    # a header-only file is copied to another path, whole
    header = tmp_path / "header.csv"
    header.write_text("a,b\n")
    assert main(["impute", str(header), "-o", str(header), "-q"]) == 2
    assert header.read_text() == "a,b\n"
    assert main(["impute", str(header), "-o", str(tmp_path / "h2.csv"), "-q"]) == 0
    assert (tmp_path / "h2.csv").read_text() == "a,b\n"


def test_arrow_backed_arrays_load(tmp_path):
    # a model fitted through Dask on a Parquet dataset holds pandas' Arrow arrays
    # (string[pyarrow] categories) in its fitted state; they load without pickle
    pytest.importorskip("pyarrow")
    state = {
        "kind": pd.array(["u", None, "v"], dtype="string[pyarrow]"),
        "n": pd.array([1, None, 3], dtype="int64[pyarrow]"),
        "levels": pd.Index(["a", "b"], dtype="string[pyarrow]"),
    }
    back = persistence.loads(persistence.dumps(state))
    for key in ("kind", "n"):
        pd.testing.assert_extension_array_equal(back[key], state[key])
    pd.testing.assert_index_equal(back["levels"], state["levels"])
