"""Compatibility tests run by the official mlflow client (make test-mlflow-compat)."""
