"""Prompt History Records and Architectural Decision Records."""
