"""Evaluation: compiled knowledge base, solver, constraints and host operations."""
