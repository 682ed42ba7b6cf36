"""Sphinx configuration of the deepimpute documentation.

Build (from the repository root): ``sphinx-build -W --keep-going -n -b html docs
docs/_build/html``. The gallery in ``examples/`` is executed on every build.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the checkout's deepimpute, also without pip install -e
os.environ.setdefault("OMP_NUM_THREADS", "1")

import deepimpute  # noqa: E402

project = "deepimpute"
author = "the deepimpute developers"
copyright = "the deepimpute developers"
version = release = deepimpute.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints", "auto_examples/*.md5",
                    "auto_examples/*.json", "auto_examples/*.zip"]
templates_path = ["_templates"]

# API reference: one page per public object, types from the numpydoc sections
autosummary_generate = True
autodoc_typehints = "none"
autodoc_default_options: dict = {}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# No network at build time (no intersphinx): names of other projects that appear in
# signatures or docstrings cannot resolve. Only these are ignored; any other
# unresolved reference fails the build.
nitpick_ignore_regex = [
    ("py:(class|obj|func|meth|mod)", r"(pandas|numpy|torch|sklearn|matplotlib)\..*"),
    ("py:class", r"(DataFrame|Series|ndarray|array-like|Axes|Figure|Tensor)"),
]

myst_heading_anchors = 3


html_theme = "pydata_sphinx_theme"
html_title = f"deepimpute {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    # the gallery's pages have no sections to list: their code gets the width
    "secondary_sidebar_items": {"auto_examples/**": [], "index": []},
}
html_static_path = ["_static"]
html_css_files = ["benchmarks.css", "landing.css"]  # report tables, landing cards

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "backreferences_dir": "generated/backreferences",
    "doc_module": ("deepimpute",),
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py",
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "show_memory": False,
    "within_subsection_order": "FileNameSortKey",
}
