"""The benchmark report: pages of Markdown assembled from a manifest and the CSVs.

    python -m benchmarks.report        # writes docs/benchmarks.md, docs/benchmarks/

``manifest.toml`` (beside this file) lists

* the **pages**, in order: ``pages/<name>.md`` holds a page's prose, written by
  hand, with a placeholder line ``{{ id }}`` where generated content goes; page
  ``index`` becomes ``docs/benchmarks.md``, every other ``docs/benchmarks/<name>.md``;
* the **results**: per id, the committed CSV(s) under ``benchmarks/results/``
  (names or globs), the commands that write them, the table renderer, and the
  figures: ``figures`` (drawn by the commands into ``docs/figures/``) and ``draw``
  (drawn from the CSVs by this module into ``docs/benchmarks/figures/<id>.png``);
* the **blocks**: generated text of no single CSV (summary of findings, guidance
  table, published values).

A result renders as its figures first, then its table(s), then where its numbers
come from: the CSV (labelled when it is a ``--quick`` run) and the commands, run
from the repository root. A result whose CSV is not committed yet says so. The
renderers are in :mod:`benchmarks.report.renderers` (or ``module:function`` of a
suite).

To add a section: write the prose and a ``{{ id }}`` line into a page (or a new
page: a file under ``pages/`` and a ``[[page]]`` entry), and one ``[results.id]``
entry in the manifest.
"""

from __future__ import annotations

import fnmatch
import importlib
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

try:
    import tomllib
except ImportError:  # Python 3.10: the same parser from PyPI
    import tomli as tomllib

from benchmarks._cli import RESULTS, ROOT

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "manifest.toml"
PAGES = HERE / "pages"
DOCS = ROOT / "docs"
#: where the generated pages and the figures drawn from CSVs go
OUT = DOCS / "benchmarks"
PLACEHOLDER = re.compile(r"^\{\{\s*([\w.-]+)\s*\}\}\s*$")


@dataclass
class Result:
    """One manifest entry: committed CSVs, their commands and their rendering."""

    id: str
    csv: list[str]
    commands: list[str]
    render: str
    draw: str = ""
    figures: list[str] = field(default_factory=list)
    together: bool = False
    writes_also: list[str] = field(default_factory=list)

    def paths(self) -> list[Path]:
        """The committed CSVs the entry names (globs expanded), in order."""
        found: list[Path] = []
        for pattern in self.csv:
            for p in sorted(RESULTS.glob(pattern)):
                if p not in found and not self.derived(p):
                    found.append(p)
        return found

    def derived(self, path: Path) -> bool:
        """Whether ``path`` is written beside the CSVs by the same commands."""
        return any(fnmatch.fnmatch(path.name, w) for w in self.writes_also)


@dataclass
class Manifest:
    pages: list[str]
    results: dict[str, Result]
    blocks: dict[str, str]


def load_manifest(path: Path = MANIFEST) -> Manifest:
    """Read ``manifest.toml``."""
    data = tomllib.loads(path.read_text())
    results = {
        rid: Result(id=rid, **{k: ([v] if k == "csv" and isinstance(v, str) else v)
                               for k, v in entry.items()})
        for rid, entry in data["results"].items()
    }
    return Manifest([p["name"] for p in data["page"]], results, data["blocks"])


def renderer(ref: str):
    """A renderer by name: ``function`` of :mod:`benchmarks.report.renderers`, or
    ``module:function``."""
    if ":" in ref:
        module, func = ref.split(":")
        return getattr(importlib.import_module(module), func)
    from benchmarks.report import renderers

    return getattr(renderers, ref)


def page_path(name: str) -> Path:
    """Where a page is written (``index``: docs/benchmarks.md)."""
    return DOCS / "benchmarks.md" if name == "index" else OUT / f"{name}.md"


def _read(path: Path) -> pd.DataFrame:
    """A CSV as read for the source lines (read once per file and version)."""
    key = (path, path.stat().st_mtime_ns)
    if key not in _CACHE:
        _CACHE[key] = pd.read_csv(path)
    return _CACHE[key]


_CACHE: dict = {}


def _reduced(path: Path) -> bool:
    if "quick" in path.stem:
        return True
    df = _read(path)
    return "quick" in df and bool(df["quick"].astype(str).isin(["1", "True"]).any())


def _source_line(group: list[Path]) -> str:
    names = ", ".join(f"`benchmarks/results/{p.name}`" for p in group)
    seeds: set[int] = set()
    for p in group:
        df = _read(p)
        if "seed" in df:
            seeds |= set(pd.to_numeric(df["seed"], errors="coerce").dropna()
                         .astype(int))
    line = f"Source: {names}"
    if seeds:
        line += f" (seeds {', '.join(str(s) for s in sorted(seeds))})"
    if any(_reduced(p) for p in group):
        line += (" — **reduced run**: the command's `--quick` settings (fewer rows, "
                 "epochs or seeds than its full run), not a reproduction of the "
                 "paper's setting")
    return line + "."


def render_result(res: Result, page: str) -> str:
    """A result's Markdown: figures, table(s), source and commands."""
    paths = res.paths()
    if not paths:
        names = ", ".join(f"`benchmarks/results/{c}`" for c in res.csv)
        return (f"*Not measured yet*: this part appears once {names} is committed; "
                "the command that writes it:\n\n```bash\n"
                + "\n".join(res.commands) + "\n```")
    up = "" if page == "index" else "../"
    here = "benchmarks/" if page == "index" else ""
    out = []
    if res.draw:
        out.append(f"![{res.id}]({here}figures/{res.id}.png)")
    out += [f"![{Path(f).stem}]({up}figures/{f})" for f in res.figures
            if (DOCS / "figures" / f).exists()]
    groups = [paths] if res.together else [[p] for p in paths]
    render = renderer(res.render)
    for group in groups:
        if len(groups) > 1:
            out.append(f"#### `{group[0].name}`")
        out += [render(group if res.together else group[0]), _source_line(group)]
    out.append("Commands (from the repository root):\n\n```bash\n"
               + "\n".join(res.commands) + "\n```")
    return "\n\n".join(out)


def render_page(name: str, manifest: Manifest) -> str:
    """One page: its prose with each placeholder replaced."""
    lines = []
    for line in (PAGES / f"{name}.md").read_text().splitlines():
        m = PLACEHOLDER.match(line)
        if not m:
            lines.append(line)
            continue
        key = m.group(1)
        if key in manifest.results:
            lines.append(render_result(manifest.results[key], name))
        elif key in manifest.blocks:
            lines.append(renderer(manifest.blocks[key])())
        else:
            raise KeyError(f"pages/{name}.md: {{{{ {key} }}}} is neither a result "
                           "nor a block of the manifest")
    source = f"benchmarks/report/pages/{name}.md"
    head = (f"<!-- Generated by `python -m benchmarks.report` from {source}, "
            "benchmarks/report/manifest.toml and benchmarks/results/: edit those, "
            "not this file. -->\n\n")
    return head + "\n".join(lines).rstrip() + "\n"


def render() -> dict[Path, str]:
    """Every page as Markdown, ``{path: text}``, from the committed CSVs; writes
    nothing (figures are drawn by :func:`write`)."""
    manifest = load_manifest()
    return {page_path(name): render_page(name, manifest) for name in manifest.pages}


def figures(manifest: Manifest | None = None) -> dict[Path, tuple]:
    """The figures drawn from CSVs: ``{png: (draw renderer, CSVs)}``."""
    manifest = manifest or load_manifest()
    return {OUT / "figures" / f"{r.id}.png": (renderer(r.draw), r.paths())
            for r in manifest.results.values() if r.draw and r.paths()}


def write() -> list[Path]:
    """Write the pages and draw the figures; remove generated files no longer
    made. Returns the paths written."""
    pages = render()
    drawn = figures()
    OUT.mkdir(parents=True, exist_ok=True)
    for stale in [*OUT.glob("*.md"), *(OUT / "figures").glob("*.png")]:
        if stale not in pages and stale not in drawn:
            stale.unlink()
    for path, text in pages.items():
        path.write_text(text)
    for path, (draw, paths) in drawn.items():
        draw(paths, path)
    return [*pages, *drawn]


def parse_command(command: str):
    """The parsed arguments of one manifest command (runs nothing).

    ``python -m benchmarks.run ...``, ``python -m benchmarks.perf ...`` and
    ``python -m benchmarks.studies.NAME ...`` are parsed by their own command line
    (an invalid one exits, as argparse does); ``args.outputs`` holds the CSVs the
    command writes, relative paths taken from the repository root.
    """
    words = shlex.split(command, comments=True)
    if words[:2] != ["python", "-m"] or len(words) < 3:
        raise ValueError(f"not a 'python -m benchmarks...' command: {command!r}")
    module, argv = words[2], words[3:]
    if module == "benchmarks.perf":
        from benchmarks.perf import parse_args

        _, args = parse_args(argv)
    else:
        args = importlib.import_module(module).parse_args(argv)
    args.outputs = [Path(p) if Path(p).is_absolute() else ROOT / p
                    for p in args.outputs]
    return args


def main() -> int:
    for path in write():
        print(f"wrote {path.relative_to(ROOT)}")
    return 0
