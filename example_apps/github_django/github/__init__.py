"""The `github` app of the example project: models, policy, views and demo data."""
