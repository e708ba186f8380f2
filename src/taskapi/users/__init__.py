"""Users: persistence and the signed-in user endpoint."""
