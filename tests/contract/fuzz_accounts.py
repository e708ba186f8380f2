"""Who the fuzzer is, case by case, so that every case stays meaningful.

Some operations end the session (or the account) whose token made the call: `logout`,
`deleteSession`, `changePassword`, `deleteCurrentUser`. Fuzzed with one shared token, the first
such case would turn every later case into a plain 401. So credentials are handed out per case:

* every case signs in afresh (a new session of one shared fuzz user), so nothing a case did to
  its own session reaches the next one; `deleteSession` stays with that user, so the session
  ids its link takes from `listSessions` are the caller's own and the deletion succeeds;
* the operations that change the account itself get a brand-new account each, so what they
  change (a password, the whole account) belongs to nobody else; those confirmed with the
  current password get it in their body, since no generator could guess it;
* the admin operations get a brand-new administrator each, promoted by a root administrator that
  was created with the real command line (`python -m taskapi users create-admin`). Should a case
  suspend or demote the root (it may learn its id from `listUsers`), the command line restores it;
  should one suspend the shared user, the root reactivates it.

The contract's own example account (`ada@example.com`, the password of the examples) exists too,
so the examples of `issueToken` and the link from it to `refreshToken` exercise real sign-ins.

The same class serves the in-process pytest fuzz and `make fuzz`; each passes its way of calling
the API (`Call`) and of running the command line (`RunCli`).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Protocol


class Call(Protocol):
    """One request to the API under test: (status, parsed JSON body or None)."""

    def __call__(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, Any]: ...


RunCli = Callable[[str, str], None]  # (email, password): create or restore an admin

# How live_fuzz.py tells the Schemathesis CLI's hooks (fuzz_hooks.py) where to work.
BASE_URL_VARIABLE = "TASKAPI_FUZZ_BASE_URL"
DATABASE_URL_VARIABLE = "TASKAPI_FUZZ_DATABASE_URL"
EXAMPLE_EMAIL = "ada@example.com"
EXAMPLE_PASSWORD = "correct horse battery staple"  # the contract's example password
PASSWORD = "fuzzing with a strong passphrase"
# Each gets an account of its own. (`deleteSession` ends only sessions, and every case has a
# fresh one: it stays with the shared user, whose sessions `listSessions` links to it.)
SELF_ENDING = frozenset({"logout", "changePassword", "deleteCurrentUser"})
# The body member in which these operations take the caller's current password.
PASSWORD_FIELDS = {"changePassword": "current_password", "deleteCurrentUser": "password"}
ADMIN_ONLY = frozenset({"listUsers", "getUser", "suspendUser", "reactivateUser", "changeUserRole"})


class FuzzAccounts:
    def __init__(self, call: Call, run_cli: RunCli) -> None:
        self._call = call
        self._run_cli = run_cli
        # Sorts after every `fuzz-...` account, so `listUsers` links rarely pick it.
        self._root = f"zz-fuzz-root-{uuid.uuid4().hex[:8]}@example.com"
        self._shared = f"fuzz-shared-{uuid.uuid4().hex[:8]}@example.com"
        self._root_token = ""
        self._shared_id = ""
        self._example_id = ""

    def set_up(self) -> None:
        self._register(EXAMPLE_EMAIL, EXAMPLE_PASSWORD)
        self._register(self._shared, PASSWORD)
        self._shared_id = self._user_id(self._shared)
        self._example_id = self._user_id(EXAMPLE_EMAIL)
        self._restore_root()

    def restore_fixtures(self) -> None:
        """Undo what a stateful run may have done to the shared accounts (suspension).

        Called between runs of the links state machine: Hypothesis requires that the same steps
        give the same answers in every run, so every run must start from the same accounts.
        """
        for user_id in (self._example_id, self._shared_id):
            self._as_root("POST", f"/api/v1/admin/users/{user_id}/reactivate")

    def prepare(self, case: Any) -> dict[str, str]:
        """The headers for one case; for operations confirmed with the caller's password, the
        case also gets that password (the fuzzer cannot know it), so the success path and the
        policy checks behind it are reached, not only the 403."""
        headers = self.headers_for(case.operation)
        field = PASSWORD_FIELDS.get(case.operation.definition.raw.get("operationId"))
        # Only cases meant to be valid: a negative case may be negative through that very field.
        meta = case.meta
        positive = meta is not None and meta.generation.mode.is_positive
        if field and positive and isinstance(case.body, dict) and field in case.body:
            case.body[field] = PASSWORD
        return headers

    def headers_for(self, operation: Any) -> dict[str, str]:
        """Fresh credentials for one case of a Schemathesis operation (none if it needs none)."""
        raw = operation.definition.raw
        security = raw.get("security", operation.schema.raw_schema.get("security", []))
        if not security:
            return {}
        operation_id = raw.get("operationId")
        if operation_id in ADMIN_ONLY:
            email = self._new_account()
            user_id = self._user_id(email)
            self._as_root("PUT", f"/api/v1/admin/users/{user_id}/role", {"role": "admin"})
        elif operation_id in SELF_ENDING:
            email = self._new_account()
        else:
            email = self._shared
        return {"Authorization": f"Bearer {self._sign_in(email)}"}

    def _new_account(self) -> str:
        email = f"fuzz-{uuid.uuid4().hex[:12]}@example.com"
        self._register(email, PASSWORD)
        return email

    def _as_root(self, method: str, path: str, json: Any = None) -> None:
        """Call as the root admin; if a case suspended or demoted it, restore it first."""
        for _ in range(2):
            headers = {"Authorization": f"Bearer {self._root_token}"}
            status, body = self._call(method, path, json=json, headers=headers)
            if status == 200:
                return
            self._restore_root()
        msg = f"the root administrator could not {method} {path}: {status} {body}"
        raise RuntimeError(msg)

    def _restore_root(self) -> None:
        self._run_cli(self._root, PASSWORD)  # creates it, or makes it an active admin again
        self._root_token = self._sign_in(self._root)

    def _user_id(self, email: str) -> str:
        headers = {"Authorization": f"Bearer {self._sign_in(email)}"}
        status, body = self._call("GET", "/api/v1/users/me", headers=headers)
        assert status == 200, (status, body)
        return str(body["id"])

    def _register(self, email: str, password: str) -> None:
        status, body = self._call(
            "POST", "/api/v1/auth/register", json={"email": email, "password": password}
        )
        assert status in (201, 409), (status, body)

    def _sign_in(self, email: str) -> str:
        password = EXAMPLE_PASSWORD if email == EXAMPLE_EMAIL else PASSWORD
        form = {"grant_type": "password", "username": email, "password": password}
        status, body = self._call("POST", "/api/v1/auth/token", form=form)
        if status == 403 and email == self._shared:
            # A case suspended the shared user (through a `listUsers` link): reactivate it.
            self._as_root("POST", f"/api/v1/admin/users/{self._shared_id}/reactivate")
            status, body = self._call("POST", "/api/v1/auth/token", form=form)
        assert status == 200, (status, body)
        return str(body["access_token"])


def cli_creating_admins(database_url: str) -> RunCli:
    """Run the real `python -m taskapi users create-admin` against the fuzzed database."""

    def run(email: str, password: str) -> None:
        environment = {
            **os.environ,
            "TASKAPI_ENV": "test",
            "TASKAPI_DATABASE_URL": database_url,
            "TASKAPI_JWT_SECRET": secrets.token_urlsafe(48),
            "TASKAPI_ARGON2_TIME_COST": "1",
            "TASKAPI_ARGON2_MEMORY_COST_KIB": "1024",
            "TASKAPI_LOG_LEVEL": "WARNING",
        }
        done = subprocess.run(
            [sys.executable, "-m", "taskapi", "users", "create-admin", email],
            input=password + "\n",
            capture_output=True,
            text=True,
            env=environment,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            msg = f"create-admin failed ({done.returncode}): {done.stderr.strip()}"
            raise RuntimeError(msg)

    return run
