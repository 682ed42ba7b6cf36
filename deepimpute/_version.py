"""The package version (one place: the estimators stamp it into their pickles)."""

__version__ = "0.2.0.dev0"
