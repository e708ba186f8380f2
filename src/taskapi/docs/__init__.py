"""Swagger UI and ReDoc, served from installed assets under a policy that allows only them."""
