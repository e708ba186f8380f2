"""Pydantic models generated from the OpenAPI contract (see models.py)."""
