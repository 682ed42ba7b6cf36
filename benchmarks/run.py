"""The quality runner: every imputation-quality benchmark, by suite.

    python -m benchmarks.run --suite uci-mcar --imputers mean vsae --seeds 0 1 2
    python -m benchmarks.run --suite oracle --imputers vsae-default --set latent_dim=8
    python -m benchmarks.run --suite image-pairs --quick
    python -m benchmarks.run --suite oracle --help     # a suite's own flags

Grid suites run the runner's table protocol (:mod:`benchmarks.quality.grid`); the
others keep a paper's protocol (:mod:`benchmarks.quality`). Without ``--suite`` the
flags (``--datasets``, ``--imputers`` ...) define a grid of their own
(``custom.csv``). Shared flags: ``--seeds``, ``--quick``, ``--out``, ``--set``,
``--figure`` (:mod:`benchmarks._cli`).
"""

from __future__ import annotations

import argparse
import sys

from benchmarks.quality import SUITES, suite_module


def _suite_lines() -> str:
    lines = []
    for name in SUITES:
        module = suite_module(name)
        what = module.__doc__.strip().splitlines()[0]
        lines.append(f"  {name:20s} {'grid: ' if SUITES[name] == 'grid' else ''}"
                     f"{what if SUITES[name] != 'grid' else _grid_line(name)}")
    return "suites:\n" + "\n".join(lines)


def _grid_line(name: str) -> str:
    from benchmarks.quality.grid import GRIDS

    g = GRIDS[name]
    rates = g["rates"] if isinstance(g["rates"], list) else "per table"
    return f"{' '.join(g['datasets'])}; {' '.join(g['mechanisms'])}; rates {rates}"


def build_parser(suite: str | None, listing: bool = True) -> argparse.ArgumentParser:
    """The parser of one suite (its own flags and the shared ones); ``listing``: the
    help text lists every suite (imports each suite's module)."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description=__doc__.splitlines()[0],
        epilog=_suite_lines() if listing else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--suite", choices=list(SUITES), metavar="NAME",
                        help="the suite (listed below)")
    suite_module(suite).add_arguments(parser)
    return parser


def parse_args(argv=None) -> argparse.Namespace:
    """Parse and check a runner command's arguments, running nothing.

    Returns the resolved arguments (defaults filled in); an invalid command exits
    with argparse's usage error (status 2).
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--suite", choices=list(SUITES))
    known, _ = pre.parse_known_args(argv)
    parser = build_parser(known.suite, listing={"-h", "--help"} & set(argv))
    args = parser.parse_args(argv)
    suite_module(args.suite).resolve(args, parser)
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    return suite_module(args.suite).main(args)


if __name__ == "__main__":
    raise SystemExit(main())
