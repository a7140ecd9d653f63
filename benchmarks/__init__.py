"""Performance benchmarks of oso_core against legacy oso 0.27.3 and hand-written Python.

Run ``python -m benchmarks`` from the repository root; see docs/performance.md.
"""
