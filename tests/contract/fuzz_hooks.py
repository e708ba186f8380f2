"""Schemathesis hooks for `make fuzz` (loaded through SCHEMATHESIS_HOOKS by live_fuzz.py).

Only the Schemathesis CLI process imports this module: the auth provider it registers is global,
and the in-process pytest fuzz passes its headers explicitly instead.

Registers an auth provider that hands every case fresh credentials from FuzzAccounts (see
fuzz_accounts.py for why), calling the live server over HTTP and creating the root
administrator with the real command line against the server's database.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import httpx
import schemathesis

from tests.contract.fuzz_accounts import (
    BASE_URL_VARIABLE,
    DATABASE_URL_VARIABLE,
    FuzzAccounts,
    cli_creating_admins,
)


def http_call(
    method: str,
    path: str,
    *,
    json: Any = None,
    form: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> tuple[int, Any]:
    with httpx.Client(base_url=os.environ[BASE_URL_VARIABLE], timeout=30) as http:
        response = http.request(
            method, path, json=json, data=dict(form) if form else None, headers=headers
        )
    return response.status_code, response.json() if response.content else None


@schemathesis.auth(refresh_interval=None)  # no caching: every case asks again
class PerCaseCredentials:
    accounts: FuzzAccounts | None = None

    def get(self, case: Any, context: Any) -> dict[str, str] | None:
        if PerCaseCredentials.accounts is None:
            accounts = FuzzAccounts(
                http_call, cli_creating_admins(os.environ[DATABASE_URL_VARIABLE])
            )
            accounts.set_up()
            PerCaseCredentials.accounts = accounts
        return PerCaseCredentials.accounts.prepare(case) or None

    def set(self, case: Any, data: dict[str, str], context: Any) -> None:
        case.headers = {**(case.headers or {}), **data}
