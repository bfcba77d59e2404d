"""Benchmarks: one script per measured path, printing figures and ratios (see each module)."""
