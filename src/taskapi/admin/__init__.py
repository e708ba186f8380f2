"""Account administration: listing, suspending and promoting users (administrators only)."""
