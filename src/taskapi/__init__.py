"""taskapi: a spec-first, contract-driven multi-user Tasks API."""
