"""The benchmark: `python -m bench.bench --help` (or `python bench/bench.py`)."""
