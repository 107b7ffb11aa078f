"""Benchmarks (`nox -s bench`): each `bench_*.py` module here has `main() -> None`,
which prints its results as Markdown; docs/benchmarks.md quotes them."""
