"""``python -m benchmarks.perf --suite NAME``: see :mod:`benchmarks.perf`."""

from benchmarks.perf import main

raise SystemExit(main())
