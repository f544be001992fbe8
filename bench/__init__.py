"""alloy_nb's benchmarks: `python -m bench` (or `make bench`); see docs/performance.md."""
