"""Benchmarks of deepimpute (not installed with the package; public API only)."""
