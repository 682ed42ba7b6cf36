"""Docstring rules of the public imputers: short parameter entries and the
scikit-learn order of sections. A small parser of our own, so it runs without numpydoc.
"""

from __future__ import annotations

import inspect
import pydoc
import re

import pytest

import deepimpute
from deepimpute._utils.sklearn_compat import StrOptions
from deepimpute.imputers import IMPUTERS
from deepimpute.nn import LIKELIHOODS

MAX_LINES = 8
SECTION_ORDER = [
    "Parameters", "Attributes", "See Also", "Notes", "References", "Examples"
]
PUBLIC_IMPUTERS = sorted(
    {*IMPUTERS.values(), deepimpute.SklearnImputerAdapter}, key=lambda c: c.__name__
)
#: imputers that implement no published method, hence cite none
NO_PAPER = {"MeanModeImputer", "SklearnImputerAdapter"}
_ENTRY = re.compile(r"^(\*{0,2}[A-Za-z_][\w, *]*) :")


def _sections(doc: str) -> dict[str, list[str]]:
    """Split a cleaned numpydoc docstring into ``{title: lines}`` by its titles."""
    lines = doc.splitlines()
    out: dict[str, list[str]] = {}
    current = "summary"
    out[current] = []
    i = 0
    while i < len(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if lines[i].strip() and set(nxt.strip()) == {"-"} and len(nxt.strip()) >= 3:
            current = lines[i].strip()
            out[current] = []
            i += 2
            continue
        out[current].append(lines[i])
        i += 1
    return out


def parameter_entries(doc: str) -> dict[str, list[str]]:
    """``{parameter name: description lines}`` of a docstring's Parameters section."""
    entries: dict[str, list[str]] = {}
    name = None
    for line in _sections(doc).get("Parameters", []):
        if line and not line[0].isspace() and _ENTRY.match(line):
            name = _ENTRY.match(line).group(1)
            entries[name] = []
        elif name is not None and line.strip():
            entries[name].append(line)
    return entries


def test_parser_reads_entries():
    doc = inspect.cleandoc(
        """Summary.

        Parameters
        ----------
        a : int, default=1
            One line.
        b : str
            Two
            lines.
        c : bool

        Returns
        -------
        int
            Not a parameter.
        """
    )
    assert parameter_entries(doc) == {
        "a": ["    One line."],
        "b": ["    Two", "    lines."],
        "c": [],
    }


@pytest.mark.parametrize("cls", PUBLIC_IMPUTERS, ids=lambda c: c.__name__)
def test_parameter_entries_are_short(cls):
    entries = parameter_entries(inspect.getdoc(cls))
    assert entries, f"{cls.__name__} has no Parameters section"
    empty = [k for k, v in entries.items() if not v]
    assert not empty, f"{cls.__name__}: parameters without a description {empty}"
    too_long = {k: len(v) for k, v in entries.items() if len(v) > MAX_LINES}
    assert not too_long, (
        f"{cls.__name__}: parameter entries over {MAX_LINES} lines {too_long}; "
        "move measured evidence to the user guide or the benchmark report"
    )


@pytest.mark.parametrize("cls", PUBLIC_IMPUTERS, ids=lambda c: c.__name__)
def test_every_init_parameter_is_documented(cls):
    documented = set()
    for name in parameter_entries(inspect.getdoc(cls)):
        documented.update(n.strip() for n in name.split(","))
    expected = set(inspect.signature(cls.__init__).parameters) - {"self"}
    missing = expected - documented
    assert not missing, f"{cls.__name__}: undocumented parameters {missing}"


@pytest.mark.parametrize("cls", PUBLIC_IMPUTERS, ids=lambda c: c.__name__)
def test_sections_in_scikit_learn_order(cls):
    titles = [t for t in _sections(inspect.getdoc(cls)) if t != "summary"]
    known = [t for t in titles if t in SECTION_ORDER]
    assert known == sorted(known, key=SECTION_ORDER.index), f"{cls.__name__}: {titles}"
    required = ["Parameters", "Attributes", "See Also", "Examples"]
    if cls.__name__ not in NO_PAPER:
        required.append("References")
    for title in required:
        assert title in titles, f"{cls.__name__} has no {title} section"
    assert ">>>" in "\n".join(_sections(inspect.getdoc(cls))["Examples"])


def test_api_reference_lists_every_public_class_and_function():
    import importlib
    from pathlib import Path

    api = Path(__file__).resolve().parents[1] / "docs" / "api.rst"
    if not api.exists():  # installed package without the docs
        pytest.skip("docs/api.rst not in this tree")
    listed = {line.strip() for line in api.read_text().splitlines()}
    modules = ["deepimpute", "deepimpute.imputers", "deepimpute.schema",
               "deepimpute.missingness", "deepimpute.metrics", "deepimpute.datasets",
               "deepimpute.plotting", "deepimpute.persistence",
               "deepimpute.distributed"]
    absent = []
    for name in modules:
        module = importlib.import_module(name)
        for obj_name in module.__all__:
            obj = getattr(module, obj_name)
            if (inspect.isclass(obj) or inspect.isfunction(obj)) and (
                obj_name not in listed
            ):
                absent.append(f"{name}.{obj_name}")
    assert not absent, f"not in docs/api.rst: {absent}"


def _string_options(constraint) -> set | None:
    """The strings a constraint accepts, None if it is no (visible) StrOptions."""
    if isinstance(constraint, StrOptions) and not getattr(constraint, "hidden", False):
        return set(constraint.options)
    return None


#: option tuples too long for a type line: a ``str`` parameter whose description
#: names one of them accepts exactly its options
NAMED_OPTIONS = {'LIKELIHOODS["numerical"]': LIKELIHOODS["numerical"]}


def _documented_strings(cls, name: str) -> set:
    """The quoted strings of a parameter's numpydoc type (before ``default=``), or
    the options of the :data:`NAMED_OPTIONS` tuple its description names."""
    doc = inspect.getdoc(cls)
    for name_part, lines in parameter_entries(doc).items():
        if name not in (n.strip() for n in name_part.split(",")):
            continue
        line = next(x for x in _sections(doc)["Parameters"]
                    if x.startswith(name_part + " :"))
        types = line.split(" : ", 1)[1].split(", default=")[0]
        found = set(re.findall(r'"([^"]*)"', types))
        text = " ".join(x.strip() for x in lines)
        if types == "str":
            for ref, options in NAMED_OPTIONS.items():
                if ref in text:
                    found |= set(options)
        return found
    raise AssertionError(f"{cls.__name__}: {name} is not documented")


@pytest.mark.parametrize("cls", PUBLIC_IMPUTERS, ids=lambda c: c.__name__)
def test_string_choices_in_docstring_are_the_accepted_ones(cls):
    # a docstring's {...} must list what _parameter_constraints accepts, no more
    init = set(inspect.signature(cls.__init__).parameters)
    checked = 0
    for name, constraints in cls._parameter_constraints.items():
        if name not in init:
            continue
        accepted = set()
        for c in constraints:
            accepted |= _string_options(c) or set()
        if not accepted:
            continue
        checked += 1
        documented = _documented_strings(cls, name)
        assert documented == accepted, (
            f"{cls.__name__}.{name}: the docstring lists {sorted(documented)}, "
            f"fit accepts {sorted(accepted)}"
        )
    assert checked, f"{cls.__name__}: no string option checked"


# ------------------------------------------------------------ help() in a terminal
#: lines of ``help(imputer)``: its docstring, its methods' and the scikit-learn
#: methods it inherits (about 120 lines of those); VSAE's was 486 before the
#: docstrings were written for the terminal
MAX_HELP_LINES = 450
#: raw Sphinx roles in what this package writes into ``help()``: a link to the
#: user guide at most (scikit-learn's own methods bring theirs, not counted)
MAX_OWN_ROLES = 1
_ROLE = re.compile(r":[a-z]+(?::[a-z]+)?:`")


def _own_docstrings(cls):
    """The docstrings ``help(cls)`` shows that this package wrote: the class's and
    those of the members that a deepimpute class of its MRO defines first."""
    yield inspect.getdoc(cls) or ""
    seen: set[str] = set()
    for klass in cls.__mro__:
        for name, member in vars(klass).items():
            if name in seen:
                continue
            seen.add(name)
            routine = pydoc.visiblename(name) and (
                inspect.isfunction(member)
                or isinstance(member, (property, classmethod, staticmethod))
            )
            if routine and klass.__module__.startswith("deepimpute"):
                yield inspect.getdoc(member) or ""


@pytest.mark.parametrize("cls", PUBLIC_IMPUTERS, ids=lambda c: c.__name__)
def test_help_reads_in_a_terminal(cls):
    text = pydoc.plain(pydoc.render_doc(cls))
    n_lines = len(text.splitlines())
    assert n_lines <= MAX_HELP_LINES, f"help({cls.__name__}) is {n_lines} lines"
    roles = [r for doc in _own_docstrings(cls) for r in _ROLE.findall(doc)]
    assert len(roles) <= MAX_OWN_ROLES, f"{cls.__name__}: raw roles {roles}"


@pytest.mark.parametrize(
    "cls", [c for c in PUBLIC_IMPUTERS if c._renamed], ids=lambda c: c.__name__
)
def test_deprecated_parameters_share_one_short_entry(cls):
    entries = parameter_entries(inspect.getdoc(cls))
    old = set(cls._renamed)
    holding = [k for k in entries if old & {n.strip() for n in k.split(",")}]
    assert len(holding) == 1, f"{cls.__name__}: {holding}"
    (key,) = holding
    assert {n.strip() for n in key.split(",")} == old
    text = " ".join(line.strip() for line in entries[key])
    for new in cls._renamed.values():
        assert f"``{new}``" in text
    assert len(entries[key]) <= 3


@pytest.mark.parametrize("cls", PUBLIC_IMPUTERS, ids=lambda c: c.__name__)
def test_docstring_quotes_no_measurements(cls):
    # measured evidence (percentages, +- values, seeds, commit ids) belongs to the
    # user guide and the benchmark report, which the docstrings may link to
    doc = inspect.getdoc(cls)
    found = re.findall(r"[^\n]*(?:\d ?%|\+-|±|\bseeds? \d|\b[0-9a-f]{7,40}\b)[^\n]*",
                       doc)
    assert not found, f"{cls.__name__}: {found}"
