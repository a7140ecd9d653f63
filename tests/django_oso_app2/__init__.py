"""A second test app with its own `policy/` folder."""
