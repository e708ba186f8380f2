"""Schemathesis against the contract file, in-process, with every check on, on both engines.

The schema is loaded from ``openapi/openapi.yaml`` itself (the test below proves it), and its
calls go in-process to the app of the running engine through ``TARGET``. Settings (seed,
deterministic generation, example budget, checks) live in ``tests/contract/schemathesis.toml``,
shared with ``make fuzz``.

Auth: every case gets fresh credentials from ``FuzzAccounts`` (see fuzz_accounts.py): a new
session for each case, a new account for the operations that end their caller's session or
account (logout, deleteSession, changePassword, deleteCurrentUser), a new administrator for the
admin operations. Without that, the first fuzzed sign-out would turn every later case into a 401.
The token is sent as an explicit ``Authorization`` header, which is what lets ``ignored_auth``
replay each authenticated success without it (and with a bogus one) and require the 401.

Budget: every operation on both engines, examples + coverage + fuzzing phases with at most
``max-examples`` generated cases each, plus a short stateful run per engine.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from tests.contract.conftest import CONTRACT_PATH, TARGET, FuzzTarget, schemathesis_config
from tests.contract.fuzz_accounts import FuzzAccounts, cli_creating_admins

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


def schema_call(
    method: str,
    path: str,
    *,
    json: Any = None,
    form: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> tuple[int, Any]:
    """A request through Schemathesis' own in-process transport (the app's event loop)."""
    for template, operations in schema.raw_schema["paths"].items():
        match = re.fullmatch(re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template), path)
        if match and method.lower() in operations:
            break
    else:
        msg = f"{method} {path} is not in the contract"
        raise LookupError(msg)
    arguments: dict[str, Any] = {"headers": dict(headers or {})}
    if match.groupdict():
        arguments["path_parameters"] = match.groupdict()
    if form is not None:
        arguments |= {"body": dict(form), "media_type": "application/x-www-form-urlencoded"}
    elif json is not None:
        arguments["body"] = json
    response = schema[template][method.upper()].Case(**arguments).call()
    return response.status_code, response.json() if response.content else None


@pytest.fixture(scope="module")
def accounts(fuzz_target: FuzzTarget, fuzz_database_url: str) -> FuzzAccounts:
    """The example account, a shared fuzz user and a root admin, made through the API and CLI."""
    made = FuzzAccounts(schema_call, cli_creating_admins(fuzz_database_url))
    made.set_up()
    return made


@pytest.mark.fr("003-platform/FR-019")
def test_fuzzed_schema_is_the_contract_file() -> None:
    with CONTRACT_PATH.open(encoding="utf-8") as handle:
        assert schema.raw_schema == yaml.safe_load(handle)


@pytest.mark.fr("003-platform/FR-019")
@schema.parametrize()
def test_operation_conforms(case: Any, accounts: FuzzAccounts) -> None:
    case.call_and_validate(headers=accounts.prepare(case))


@pytest.mark.fr("003-platform/FR-019")
def test_links_flow(accounts: FuzzAccounts) -> None:
    """The contract's OpenAPI links: tasks (create → get / update / delete), tokens (sign-in →
    refresh → refresh), sessions (list → delete) and accounts (list → admin get / suspend /
    reactivate / change role)."""

    class LinksFlow(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": accounts.prepare(case)}

        def teardown(self) -> None:
            accounts.restore_fixtures()
            super().teardown()

    run_state_machine_as_test(LinksFlow, settings=STATEFUL_SETTINGS)
