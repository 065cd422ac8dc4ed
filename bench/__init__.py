"""Benchmarks of the assistant (load: bench.load; see the issue "Benchmarks")."""
