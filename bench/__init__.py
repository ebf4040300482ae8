"""Benchmark harness for Yocho's nightly job (``python -m bench``); see docs/benchmarks.md."""
