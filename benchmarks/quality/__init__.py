"""The quality runner's suites: ``python -m benchmarks.run --suite NAME``.

A suite is either a grid of the runner's own table protocol
(:mod:`benchmarks.quality.grid`, :data:`~benchmarks.quality.grid.GRIDS`: datasets x
mechanisms x rates x imputers x seeds), or a module of this package that keeps a
paper's own protocol (its masks, splits or metric). Every suite module has

* ``add_arguments(parser)``: its flags, the shared ones through
  :func:`benchmarks._cli.add_common`;
* ``resolve(args, parser)``: fills defaults and checks the arguments without
  running anything (``parser.error`` on a bad one), and sets ``args.outputs``,
  the CSVs the run writes;
* ``main(args) -> int``: the run (0 when every cell finished).

To add a suite: a grid is one entry in ``GRIDS``; a new protocol is a module here
with those three functions and one line in :data:`SUITES`.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from benchmarks.quality.grid import GRIDS

#: suite name -> its module under benchmarks.quality
SUITES: dict[str, str] = {
    **{name: "grid" for name in GRIDS},
    "oracle": "oracle",
    "image-pairs": "image_pairs",
    "gain-reference": "gain_reference",
    "forest-reference": "forest_reference",
    "rvi-imputation": "rvi_imputation",
    "factvae-bars": "factvae_bars",
    "time-to-quality": "time_to_quality",
    "multiple-imputation": "multiple_imputation",
    "external-peers": "external_peers",
}


def suite_module(suite: str | None) -> ModuleType:
    """The module that runs ``suite`` (None: a grid of the flags' choosing)."""
    return importlib.import_module(f"benchmarks.quality.{SUITES[suite or 'smoke']}")
