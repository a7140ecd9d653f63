"""Data-filtering adapters (legacy `polar.data.adapter`)."""

from .adapter import DataAdapter

__all__ = ["DataAdapter"]
