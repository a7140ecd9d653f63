"""Authorization over stored facts: a SQL fact store (SQLite by default, PostgreSQL) that answers
authorize / list / actions / query for a policy in one SQL statement each (docs/facts.md).

Needs SQLAlchemy 2 (`pip install 'oso-core[facts]'`; PostgreSQL also needs psycopg 3).
"""
