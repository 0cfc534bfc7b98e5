"""Benchmarks, run by ``make bench`` and never by ``make test``."""
