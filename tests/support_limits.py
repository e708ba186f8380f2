"""Budgets for tests that exercise the operations, not the limits.

The limiter still runs on every request of such tests, but these budgets are far above
anything a behaviour test, a generated-client scenario or the fuzzer sends; the limits
themselves are tested with small budgets in tests/taskapi/test_ratelimit.py.
"""

from __future__ import annotations

from typing import Any

GENEROUS_LIMITS: dict[str, Any] = {
    "rate_limit_user": "1000000/minute",
    "rate_limit_register": "1000000/minute",
    "rate_limit_password_reset": "1000000/minute",
    "rate_limit_refresh": "1000000/minute",
    "rate_limit_sign_in_address": "1000000/minute",
    "rate_limit_sign_in_account": "1000000/minute",
    "rate_limit_chat": "1000000/minute",
    "sign_in_free_failures_account": 1_000_000,
    "sign_in_free_failures_address": 1_000_000,
    # Bursts of concurrent registrations (race tests) wait for a hashing worker here.
    "password_hash_queue": 10_000,
}


def generous_limits_environment() -> dict[str, str]:
    """GENEROUS_LIMITS as TASKAPI_* variables, for a server in another process."""
    return {f"TASKAPI_{name.upper()}": str(value) for name, value in GENEROUS_LIMITS.items()}
