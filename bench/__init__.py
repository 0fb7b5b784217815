"""Benchmarks: each module measures both sides in one run and prints ratios (see README.md)."""
