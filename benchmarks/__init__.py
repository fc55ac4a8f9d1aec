"""Benchmarks: ``python -m benchmarks [NAME...]`` (``make bench``); see docs/benchmarks.md."""
