"""Data-filtering objects and adapters (legacy `polar.data`)."""

from .adapter import DataAdapter
from .filter import Condition, DataFilter, Projection, Relation

__all__ = ["DataFilter", "Condition", "Projection", "Relation", "DataAdapter"]
