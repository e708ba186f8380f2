"""Cross-cutting infrastructure: settings, database, security, problem details, middleware."""
