"""Benchmarks: `make bench` (python -m tests.bench) runs every `bench_*.py` here."""
