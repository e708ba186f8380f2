"""The outbox: work stored with the request that asked for it and done after the response."""
