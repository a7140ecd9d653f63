"""A tiny Django app whose models the Django filter-adapter tests compile plans against."""
