"""Deskchat's benchmark: the real server under real WebSocket load, next to a bare limit.

``python -m bench`` (or ``make bench``) starts ``python -m desktop --headless`` as a subprocess,
seeds users and sessions, drives it with ``websockets`` clients from this process, runs the same
scenarios against :mod:`bench.reference` (a bare ``websockets`` broadcast server speaking the
same frames), and prints a table and JSON. docs/benchmarks.md records results and reasons.
"""
