"""copyseal's benchmarks: ``python -m bench [NAME ...]`` prints each figure as a median."""
