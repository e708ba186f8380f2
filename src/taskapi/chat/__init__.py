"""Chat: a stateless conversational interface whose tools are the task operations (spec 006)."""
