"""README's and the docs' Python examples run as printed, in a bare clone.

Every ``python`` code block of README.md runs on its own in a fresh interpreter (a
reader copies one block), and the blocks of the getting-started page and of the
landing page run one after the other in one interpreter (the page says so). Each
runs in an empty working folder with ``DEEPIMPUTE_DATA`` pointing to an empty
folder, so only the tables embedded in the package are there, and nothing of the
snippet is edited: its speed comes from the parameters it prints. Where the text
beside a block states what it shows, the test checks the printed numbers say so.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [ROOT / "docs" / "getting_started.rst", ROOT / "docs" / "index.rst"]


def markdown_blocks(path: Path) -> list[str]:
    """The ```python fenced blocks of a Markdown file."""
    return re.findall(r"^```python\n(.*?)^```", path.read_text(), flags=re.S | re.M)


def rst_blocks(path: Path) -> list[str]:
    """The ``.. code-block:: python`` blocks of a reST file, dedented."""
    blocks, lines = [], path.read_text().splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() == ".. code-block:: python":
            i += 1
            body = []
            while i < len(lines) and (not lines[i].strip() or lines[i][0] == " "):
                body.append(lines[i])
                i += 1
            blocks.append(textwrap.dedent("\n".join(body)).strip() + "\n")
        else:
            i += 1
    return blocks


README_BLOCKS = markdown_blocks(README)


def undefined_names(snippets: dict[str, str], folder: Path) -> list[str]:
    """ruff's F821 (undefined name) messages, ``file:line:col: ...``, for the
    snippets (name -> code), written as files under ``folder``."""
    for name, code in snippets.items():
        (folder / f"{name}.py").write_text(code)
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--isolated",
         "--select", "F821", "--output-format", "concise", str(folder)],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    return [line for line in done.stdout.splitlines() if "F821" in line]


def run_snippet(code: str, tmp_path: Path, timeout: float = 900) -> str:
    """Run ``code`` as a script in a fresh interpreter; return its stdout."""
    work, empty = tmp_path / "work", tmp_path / "no-data"
    work.mkdir()
    empty.mkdir()
    script = work / "snippet.py"
    script.write_text(code)
    env = dict(os.environ, DEEPIMPUTE_DATA=str(empty), MPLBACKEND="Agg",
               PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    done = subprocess.run([sys.executable, str(script)], cwd=work, env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _values(out: str, pattern: str) -> dict[str, float]:
    """``{name: number}`` from output lines ``<name> ... <pattern> <number>``."""
    found = re.findall(rf"^(\S+(?: \S+)?)\s+{pattern} (\d+\.\d+)", out, flags=re.M)
    return {name: float(v) for name, v in found}


# ----------------------------------------------------------------- fast checks
def test_readme_has_the_examples():
    assert len(README_BLOCKS) >= 6
    for page in PAGES:
        assert rst_blocks(page), page


def test_blocks_are_self_contained(tmp_path):
    # a reader copies one README block, or a page's blocks in order: each must
    # import or define every name it uses
    snippets = {f"readme_block_{i}": code for i, code in enumerate(README_BLOCKS)}
    snippets |= {page.stem: "\n".join(rst_blocks(page)) for page in PAGES}
    assert undefined_names(snippets, tmp_path) == []


def test_undefined_names_are_found(tmp_path):
    # the check above can fail: a block that uses an earlier block's variable
    assert undefined_names({"b": "print(data.frame)\n"}, tmp_path) != []


def test_readme_setup_installs_the_cpu_build_and_ci_runs_its_tests():
    text = README.read_text()
    commands = re.findall(r"^```bash\n(python3 -m venv .*?)\n```", text, flags=re.M)
    assert len(commands) == 2  # the main job and the tests
    for command in commands:
        assert "pip install torch==2.13.0 --index-url " \
            "https://download.pytorch.org/whl/cpu" in command
    assert commands[0].endswith("deepimpute demo")
    test_command = commands[1].rsplit("&& ", 1)[1]
    assert test_command == "python -m pytest -q"
    assert test_command in (ROOT / ".ci" / "run").read_text()


# ------------------------------------------------------ running them (slow)
@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(README_BLOCKS)))
def test_readme_block_runs_in_a_bare_clone(index, tmp_path):
    code = README_BLOCKS[index]
    out = run_snippet(code, tmp_path)
    if "score_imputation(" in code:  # "VSAE and MissForest beat the mean and mode"
        nrmse, pfc = _values(out, "NRMSE"), _values(out, r"NRMSE \S+  PFC")
        assert set(nrmse) == {"mean/mode", "MissForest", "VSAE"}
        for name in ("MissForest", "VSAE"):
            assert nrmse[name] < nrmse["mean/mode"] and pfc[name] < pfc["mean/mode"]
    if "cross_val_score(" in code:  # "the accuracies lie within 0.05"
        accuracy = _values(out, "accuracy")
        assert len(accuracy) == 3
        assert max(accuracy.values()) - min(accuracy.values()) <= 0.05
    if "GridSearchCV(" in code:
        assert "latent_dim" in out
    if "fit_on_dask(" in code:
        assert out.split()[-1] == "0"  # nothing left missing


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_page_runs_in_a_bare_clone(page, tmp_path):
    out = run_snippet("\n".join(rst_blocks(page)), tmp_path)
    if page.name == "getting_started.rst":  # "VSAE beats the baseline"
        nrmse, pfc = _values(out, "NRMSE"), _values(out, r"NRMSE \S+  PFC")
        assert nrmse["VSAE"] < nrmse["mean/mode"] and pfc["VSAE"] < pfc["mean/mode"]
        assert (tmp_path / "work" / "heart_missing.csv").is_file()
