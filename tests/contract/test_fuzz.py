"""Schemathesis against the contract file, in-process, with every check on, on both engines.

The schema is loaded from ``openapi/openapi.yaml`` itself (the test below proves it), and its
calls go in-process to the app of the running engine through ``TARGET``. Settings (seed,
deterministic generation, example budget, checks) live in ``tests/contract/schemathesis.toml``,
shared with ``make fuzz``.

Auth: a user registers and gets a token through the API; the token is sent as an explicit
``Authorization`` header, which is what lets ``ignored_auth`` replay each authenticated success
without it (and with a bogus one) and require the 401.

Budget: every operation on both engines, examples + coverage + fuzzing phases with at most
``max-examples`` generated cases each, plus a short stateful run per engine.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from tests.contract.conftest import CONTRACT_PATH, TARGET, FuzzTarget, schemathesis_config

schema = schemathesis.openapi.from_path(CONTRACT_PATH, config=schemathesis_config())
# Calls go in-process (LIBRARY-NOTES: from_path + `schema.app` is what from_asgi does inside).
schema.app = TARGET

STATEFUL_SETTINGS = settings(
    max_examples=25,
    stateful_step_count=10,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.fixture(scope="module")
def auth_headers(fuzz_target: FuzzTarget) -> dict[str, str]:
    """Register a user and exchange its password for a token, through the API under test."""
    email = f"fuzz-{uuid.uuid4().hex[:12]}@example.com"
    password = uuid.uuid4().hex
    registered = (
        schema["/api/v1/auth/register"]["POST"]
        .Case(body={"email": email, "password": password})
        .call()
    )
    assert registered.status_code == 201, registered.text
    issued = (
        schema["/api/v1/auth/token"]["POST"]
        .Case(
            body={"grant_type": "password", "username": email, "password": password},
            media_type="application/x-www-form-urlencoded",
        )
        .call()
    )
    assert issued.status_code == 200, issued.text
    return {"Authorization": f"Bearer {issued.json()['access_token']}"}


@pytest.mark.fr("003-platform/FR-019")
def test_fuzzed_schema_is_the_contract_file() -> None:
    with CONTRACT_PATH.open(encoding="utf-8") as handle:
        assert schema.raw_schema == yaml.safe_load(handle)


@pytest.mark.fr("003-platform/FR-019")
@schema.parametrize()
def test_operation_conforms(case: Any, auth_headers: dict[str, str]) -> None:
    case.call_and_validate(headers=auth_headers)


@pytest.mark.fr("003-platform/FR-019")
def test_links_flow(auth_headers: dict[str, str]) -> None:
    """createTask → getTask / updateTask / deleteTask through the contract's OpenAPI links."""

    class LinksFlow(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": auth_headers}

    run_state_machine_as_test(LinksFlow, settings=STATEFUL_SETTINGS)
