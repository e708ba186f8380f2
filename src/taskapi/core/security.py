"""Password hashing off the event loop, short-lived access tokens (HS256 JWT), opaque tokens."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import secrets
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache, partial
from typing import TypeVar

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from taskapi.core.config import Settings
from taskapi.core.errors import ServiceUnavailable

ACCESS_TOKEN_TYPE = "access"  # noqa: S105 - a claim value, not a secret
_ALGORITHM = "HS256"
_REQUIRED_CLAIMS = ["sub", "sid", "exp", "iat", "jti", "iss", "aud", "typ"]
# Opaque tokens (refresh, password reset) carry this many random bytes: 256 bits.
OPAQUE_TOKEN_BYTES = 32
_T = TypeVar("_T")
logger = logging.getLogger("taskapi.security")


class HashingBusy(ServiceUnavailable):
    slug = "hashing-busy"
    title = "Too busy to check passwords"

    def __init__(self) -> None:
        super().__init__(
            "Too many passwords are being checked right now; retry in a second.",
            headers={"Retry-After": "1"},
        )


def lower_thread_priority(niceness: int) -> None:
    """Give the calling OS thread the nice value `niceness` (Linux: nice is per thread).

    Raising one's own nice value needs no privilege. Where threads have no nice value of
    their own (not Linux), nothing changes: lowering the whole process would slow the event
    loop too.
    """
    if niceness <= 0 or sys.platform != "linux":
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
    except OSError as exc:  # a sandbox that forbids it: hash at normal priority
        logger.warning("could not lower the password-hashing thread's priority (%s)", exc)


class PasswordHasher:
    """Argon2id on its own worker threads: `concurrency` of them, at most `queue` waiting.

    One verify costs about 165 ms of CPU at the default cost; running it on the event loop
    would stall every other request, and running unbounded numbers at once lets a login
    flood starve the machine. The workers run at nice `niceness` (19 by default), so the
    operating system gives the event loop, and every other route, the CPU first whenever
    both want it, while hashing still gets every cycle nothing else needs. Past the waiting
    room, a request is refused at once (HashingBusy, 503) instead of waiting seconds behind
    a flood: the check costs no thread and no await, so refusing is far cheaper than hashing.
    """

    def __init__(
        self,
        *,
        time_cost: int,
        memory_cost_kib: int,
        concurrency: int,
        queue: int,
        niceness: int = 19,
    ) -> None:
        self._hash = PasswordHash((Argon2Hasher(time_cost=time_cost, memory_cost=memory_cost_kib),))
        self.niceness = niceness
        # The native ids of the worker threads, as they start (the tests read their priority).
        self.worker_thread_ids: list[int] = []
        # Idle workers cost nothing and end with the hasher; they are never shut down, since
        # one app may run its lifespan more than once (a test client per test).
        self._executor = ThreadPoolExecutor(
            max_workers=concurrency,
            thread_name_prefix="taskapi-hashing",
            initializer=self._start_worker,
        )
        self._capacity = concurrency + queue
        self._admitted = 0
        # Made once at start-up, before any request, so that every sign-in for an unknown
        # email costs exactly what a wrong password costs: one verification.
        self.dummy_hash = self._hash.hash(uuid.uuid4().hex)
        # How many verifications ran; the sign-in tests read it (one per attempt, always).
        self.verifications = 0

    async def hash(self, password: str) -> str:
        return await self._in_worker(partial(self._hash.hash, password))

    async def verify(self, password: str, password_hash: str | None) -> bool:
        """Verify; with no hash (unknown user) still spend one verification, so timing is equal."""
        target = password_hash if password_hash is not None else self.dummy_hash
        ok = await self._in_worker(partial(self._hash.verify, password, target))
        self.verifications += 1
        return ok and password_hash is not None

    def check_capacity(self) -> None:
        """Refuse now (HashingBusy) if a hash asked for now would be refused.

        Lets a sign-in be turned away before it parses more, reads the database or spends
        rate-limit budget; the admission itself still checks again.
        """
        if self._admitted >= self._capacity:
            raise HashingBusy

    async def _in_worker(self, work: Callable[[], _T]) -> _T:
        """Run `work` on a hashing worker, or refuse at once when the waiting room is full.

        A place is given back when the work ends, not when the caller stops waiting: a
        request cancelled mid-hash (its client gone) still holds a worker until then.
        """
        self.check_capacity()
        self._admitted += 1
        try:
            done = asyncio.wrap_future(self._executor.submit(work))
        except BaseException:
            self._admitted -= 1
            raise
        done.add_done_callback(self._give_back)
        return await asyncio.shield(done)

    def _give_back(self, _done: object) -> None:
        self._admitted -= 1

    def _start_worker(self) -> None:
        lower_thread_priority(self.niceness)
        self.worker_thread_ids.append(threading.get_native_id())


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    expires_in: int


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """What a valid access token says: whose it is and which session it belongs to."""

    user_id: uuid.UUID
    session_id: uuid.UUID


def new_opaque_token() -> str:
    """A URL-safe random token of 256 bits, for refresh and password-reset tokens."""
    return secrets.token_urlsafe(OPAQUE_TOKEN_BYTES)


def hash_opaque_token(token: str) -> str:
    """What is stored instead of an opaque token: its SHA-256, in hex.

    A fast hash is enough: the token carries 256 random bits, so a stolen hash cannot be
    reversed by guessing, unlike a password.
    """
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class InvalidTokenError(Exception):
    """The token is missing a claim, expired, wrongly signed, or not an access token."""


# How many verified tokens to remember (about 300 bytes each): every signed-in client resends
# its token on each request for its whole lifetime.
VERIFIED_TOKENS_KEPT = 4096


@dataclass(frozen=True, slots=True)
class _Verified:
    claims: AccessClaims
    expires_at: float


class TokenService:
    def __init__(self, settings: Settings) -> None:
        self._secret = settings.signing_secret
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._ttl = settings.access_token_ttl_seconds
        # A token string that verified once verifies the same way until it expires: its
        # signature, algorithm, issuer, audience and type cannot change. So the full check
        # runs once per token, and every use re-checks the expiry. Only tokens that passed
        # are kept (a failure raises), so junk cannot fill it; the caller check still runs
        # in the database on every request.
        self._verified = lru_cache(maxsize=VERIFIED_TOKENS_KEPT)(self._verify)

    def issue_access_token(
        self, *, user_id: uuid.UUID, session_id: uuid.UUID, now: datetime | None = None
    ) -> IssuedToken:
        issued_at = now or datetime.now(UTC)
        claims = {
            "sub": str(user_id),
            "sid": str(session_id),
            "iat": issued_at,
            "exp": issued_at + timedelta(seconds=self._ttl),
            "jti": uuid.uuid4().hex,
            "iss": self._issuer,
            "aud": self._audience,
            "typ": ACCESS_TOKEN_TYPE,
        }
        return IssuedToken(jwt.encode(claims, self._secret, algorithm=_ALGORITHM), self._ttl)

    def verify_access_token(self, token: str) -> AccessClaims:
        """The token's user and session, or InvalidTokenError; each token is fully checked once."""
        verified = self._verified(token)
        if verified.expires_at <= time.time():
            raise InvalidTokenError("The access token has expired.")
        return verified.claims

    def _verify(self, token: str) -> _Verified:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[_ALGORITHM],  # pinned: no "none", no algorithm confusion
                audience=self._audience,
                issuer=self._issuer,
                options={"require": _REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidTokenError("The access token has expired.") from exc
        except jwt.InvalidTokenError as exc:
            raise InvalidTokenError("The access token is invalid.") from exc
        if claims.get("typ") != ACCESS_TOKEN_TYPE:
            raise InvalidTokenError("The token is not an access token.")
        try:
            claims_of_token = AccessClaims(
                user_id=uuid.UUID(str(claims["sub"])), session_id=uuid.UUID(str(claims["sid"]))
            )
            return _Verified(claims_of_token, float(claims["exp"]))
        except ValueError as exc:
            raise InvalidTokenError("The access token is invalid.") from exc
