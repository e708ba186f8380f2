"""Registration and access tokens."""
