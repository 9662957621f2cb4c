"""Benchmarks and evaluations, run as modules from the repository root: `python -m bench.run`."""
