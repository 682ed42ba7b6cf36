"""``python -m benchmarks.report``: write the report's pages (see
:mod:`benchmarks.report`)."""

from benchmarks.report import main

raise SystemExit(main())
