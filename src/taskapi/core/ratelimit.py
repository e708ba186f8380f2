"""Rate limits: named budgets counted in process memory or in Redis, and the 429 they raise.

Budgets are attached to routes as dependencies (see `auth.dependencies`), so the operations
that can answer 429 are visible in the code and derived from it by the conformance test.
Counting uses the `limits` library's storage: its Redis storage (atomic INCR + EXPIRE in one
script) when TASKAPI_RATE_LIMIT_STORAGE_URL is set, so every instance shares one count, and
`ProcessStorage` below otherwise. Each budget is a fixed window: `q` requests per `w`
seconds, starting with the first request of the window.

Every limited response carries the IETF httpapi draft's fields, for example
`RateLimit-Policy: "user";q=600;w=60` and `RateLimit: "user";r=599;t=60`.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

from limits import parse as parse_rate
from limits.aio.storage import RedisStorage, Storage
from limits.errors import StorageError
from starlette.requests import Request
from starlette.types import Scope

from taskapi.core.config import Settings
from taskapi.core.errors import DomainError
from taskapi.core.middleware import RESPONSE_HEADERS_STATE

logger = logging.getLogger("taskapi.ratelimit")

# Connecting to or asking Redis must not hold a request for long when Redis is in trouble.
_REDIS_TIMEOUT_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class Budget:
    """`amount` requests per `window_seconds`, under a policy name clients can see."""

    name: str
    amount: int
    window_seconds: int
    # This budget as a member of RateLimit-Policy, written once: every response sends it.
    policy: str = field(init=False)

    def __post_init__(self) -> None:
        policy = f'"{self.name}";q={self.amount};w={self.window_seconds}'
        object.__setattr__(self, "policy", policy)

    @classmethod
    def parse(cls, name: str, rate: str) -> Budget:
        item = parse_rate(rate)
        return cls(name=name, amount=item.amount, window_seconds=item.get_expiry())


@dataclass(frozen=True, slots=True)
class Budgets:
    """Every budget the service enforces, built from the settings once at start-up."""

    user: Budget
    register: Budget
    password_reset: Budget
    refresh: Budget
    sign_in_address: Budget
    sign_in_account: Budget
    chat: Budget

    @classmethod
    def from_settings(cls, settings: Settings) -> Budgets:
        return cls(
            user=Budget.parse("user", settings.rate_limit_user),
            register=Budget.parse("register", settings.rate_limit_register),
            password_reset=Budget.parse("password-reset", settings.rate_limit_password_reset),
            refresh=Budget.parse("refresh", settings.rate_limit_refresh),
            sign_in_address=Budget.parse("sign-in-address", settings.rate_limit_sign_in_address),
            sign_in_account=Budget.parse("sign-in-account", settings.rate_limit_sign_in_account),
            chat=Budget.parse("chat", settings.rate_limit_chat),
        )


@dataclass(frozen=True, slots=True)
class BackOff:
    """Doubling waits after `free_failures` consecutive failures, from `base` up to `cap`."""

    name: str
    free_failures: int
    base_seconds: int
    cap_seconds: int
    memory_seconds: int

    def wait_after(self, failures: int) -> int:
        """Seconds to refuse attempts after the `failures`-th consecutive failure (0: none).

        With 5 free failures and a base of 2 s: the 6th failure waits 2 s, the 7th 4 s, the
        8th 8 s, and so on up to the cap.
        """
        beyond = failures - self.free_failures - 1
        if beyond < 0:
            return 0
        return min(self.cap_seconds, self.base_seconds << min(beyond, 30))


class RateLimited(DomainError):
    status = 429
    slug = "rate-limited"
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        # The RateLimit fields of the budgets spent so far are added to every response of
        # the request, this one included (RequestContextMiddleware).
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class ProcessStorage(Storage):
    """Fixed-window counters in this process's memory (the default store).

    limits' own MemoryStorage schedules an expiry task that walks every key on each
    increment; this one keeps `key -> [count, expires_at]` and drops expired entries in
    one sweep whenever the table has doubled since the last one, so an increment costs a
    dictionary lookup. One event loop owns it: no awaits inside, so no locks either.
    """

    def __init__(self) -> None:
        super().__init__(None)
        self._counters: dict[str, list[float]] = {}
        self._sweep_at = 1024

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return ValueError

    def hit(self, key: str, expiry: int, now: float) -> tuple[int, float]:
        """Count one request against `key` at `now`: (the window's count, when it ends).

        The synchronous form of `incr` + `get_expiry` that `RateLimiter.spend` uses on the
        hot path: one lookup, no coroutine.
        """
        counter = self._counters.get(key)
        if counter is None or counter[1] <= now:
            if len(self._counters) >= self._sweep_at:
                self._sweep(now)
            counter = [0, now + expiry]
            self._counters[key] = counter
        counter[0] += 1
        return int(counter[0]), counter[1]

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        counter = self._counters.get(key)
        if counter is None or counter[1] <= now:
            if len(self._counters) >= self._sweep_at:
                self._sweep(now)
            counter = [0, now + expiry]
            self._counters[key] = counter
        counter[0] += amount
        return int(counter[0])

    async def get(self, key: str) -> int:
        counter = self._counters.get(key)
        return int(counter[0]) if counter is not None and counter[1] > time.time() else 0

    async def get_expiry(self, key: str) -> float:
        counter = self._counters.get(key)
        now = time.time()
        return counter[1] if counter is not None and counter[1] > now else now

    async def clear(self, key: str) -> None:
        self._counters.pop(key, None)

    async def check(self) -> bool:
        return True

    async def reset(self) -> int | None:
        count = len(self._counters)
        self._counters.clear()
        return count

    def _sweep(self, now: float) -> None:
        self._counters = {k: c for k, c in self._counters.items() if c[1] > now}
        self._sweep_at = max(1024, 2 * len(self._counters))


def create_storage(settings: Settings) -> Storage:
    url = settings.rate_limit_storage_url
    if url is None:
        return ProcessStorage()
    return RedisStorage(
        f"async+{url}",
        implementation="redispy",
        key_prefix=settings.rate_limit_key_prefix,
        wrap_exceptions=True,
        socket_timeout=_REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=_REDIS_TIMEOUT_SECONDS,
    )


class RateLimiter:
    """Spends budgets and keeps failure records in one storage; fails open if it breaks.

    A broken store (Redis unreachable) lets requests through and logs a warning at most
    once a minute: the API staying available matters more than the limit while it lasts.
    """

    _WARN_EVERY_SECONDS: ClassVar[float] = 60.0

    def __init__(self, settings: Settings, storage: Storage | None = None) -> None:
        self.enabled = settings.rate_limit_enabled
        self.budgets = Budgets.from_settings(settings)
        self.account_failures = BackOff(
            name="sign-in-account",
            free_failures=settings.sign_in_free_failures_account,
            base_seconds=settings.sign_in_backoff_base_seconds,
            cap_seconds=settings.sign_in_backoff_max_seconds,
            memory_seconds=settings.sign_in_failure_window_seconds,
        )
        self.address_failures = BackOff(
            name="sign-in-address",
            free_failures=settings.sign_in_free_failures_address,
            base_seconds=settings.sign_in_backoff_base_seconds,
            cap_seconds=settings.sign_in_backoff_max_seconds,
            memory_seconds=settings.sign_in_failure_window_seconds,
        )
        self.storage = storage if storage is not None else create_storage(settings)
        self._in_process = self.storage if isinstance(self.storage, ProcessStorage) else None
        self._trusted_proxies = [
            ipaddress.ip_network(p, strict=False) for p in settings.trusted_proxies
        ]
        self._warned_at = -math.inf

    async def spend(
        self, request: Request, budget: Budget, subject: str, *, advertise: bool = True
    ) -> None:
        """Take one request from `budget` for `subject`, or raise RateLimited (429).

        With `advertise`, the request's response carries this budget's RateLimit fields
        either way. A budget whose subject is not the caller (an account someone signs in
        to) is not advertised: its count would tell anyone how often that account was tried.
        """
        if not self.enabled:
            return
        key = f"{budget.name}/{subject}"
        now = time.time()
        if self._in_process is not None:  # the default store: one lookup, no awaits
            used, reset_at = self._in_process.hit(key, budget.window_seconds, now)
        else:
            try:
                used = await self.storage.incr(key, budget.window_seconds)
                reset_at = await self.storage.get_expiry(key)
            except StorageError as exc:
                self._warn(exc)
                return
        remaining = max(0, budget.amount - used)
        reset_in = max(1, math.ceil(reset_at - now))
        if advertise:
            _add_fields(request.scope, budget, remaining, reset_in)
        if used > budget.amount:
            raise RateLimited(
                f"This {_describe(budget)} allows {budget.amount} requests per "
                f"{budget.window_seconds} seconds; retry in {reset_in} seconds.",
                retry_after=reset_in,
            )

    async def check_back_off(self, back_off: BackOff, subject: str) -> None:
        """Raise RateLimited while `subject` is waiting out a back-off."""
        if not self.enabled:
            return
        try:
            locked = await self.storage.get(f"{back_off.name}-wait/{subject}")
            until = await self.storage.get_expiry(f"{back_off.name}-wait/{subject}")
        except StorageError as exc:
            self._warn(exc)
            return
        if locked:
            wait = max(1, math.ceil(until - time.time()))
            raise RateLimited(
                f"Too many failed sign-ins {_describe_back_off(back_off)}; "
                f"retry in {wait} seconds.",
                retry_after=wait,
            )

    async def record_failure(self, back_off: BackOff, subject: str) -> None:
        """Count one more consecutive failure, and start the back-off it has earned."""
        if not self.enabled:
            return
        try:
            failures = await self.storage.incr(
                f"{back_off.name}-failures/{subject}", back_off.memory_seconds
            )
            wait = back_off.wait_after(failures)
            if wait:
                lock = f"{back_off.name}-wait/{subject}"
                await self.storage.clear(lock)
                await self.storage.incr(lock, wait)
        except StorageError as exc:
            self._warn(exc)

    async def forget_failures(self, back_off: BackOff, subject: str) -> None:
        if not self.enabled:
            return
        try:
            await self.storage.clear(f"{back_off.name}-failures/{subject}")
        except StorageError as exc:
            self._warn(exc)

    def client_address(self, scope: Scope) -> str:
        """Who to count per-address budgets against: the peer, or what a trusted proxy says.

        IPv6 addresses count per /64, the block one host usually gets, so that a client
        cannot rotate through its own addresses to multiply its budget.
        """
        client = scope.get("client")
        peer = _ip(client[0]) if client else None
        if peer is not None and self._trusted(peer):
            for hop in reversed(_forwarded_for(scope)):
                forwarded = _ip(hop)
                if forwarded is None:
                    break
                peer = forwarded
                if not self._trusted(forwarded):
                    break
        if peer is None:
            return "unknown"
        if peer.version == 6:
            return str(ipaddress.ip_network(f"{peer}/64", strict=False))
        return str(peer)

    def _trusted(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return any(address in network for network in self._trusted_proxies)

    def _warn(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._warned_at >= self._WARN_EVERY_SECONDS:
            self._warned_at = now
            logger.warning(
                "rate-limit store unavailable (%s); requests are not being limited",
                type(exc).__name__,
            )


def _add_fields(scope: Scope, budget: Budget, remaining: int, reset_in: int) -> None:
    """Add this budget to the RateLimit fields the request's response will carry."""
    state: dict[str, Any] = scope.setdefault("state", {})
    headers: dict[str, str] | None = state.get(RESPONSE_HEADERS_STATE)
    fields = f'"{budget.name}";r={remaining};t={reset_in}'
    if headers is None:
        state[RESPONSE_HEADERS_STATE] = {"RateLimit-Policy": budget.policy, "RateLimit": fields}
        return
    for name, member in (("RateLimit-Policy", budget.policy), ("RateLimit", fields)):
        headers[name] = f"{headers[name]}, {member}" if name in headers else member


def _describe(budget: Budget) -> str:
    return {
        "user": "account's API budget",
        "register": "address's registration budget",
        "password-reset": "address's password-reset budget",
        "sign-in-address": "address's sign-in budget",
        "sign-in-account": "account's sign-in budget",
        "chat": "account's chat budget",
    }.get(budget.name, f"{budget.name} budget")


def _describe_back_off(back_off: BackOff) -> str:
    return "for this account" if back_off.name.endswith("account") else "from this address"


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _forwarded_for(scope: Scope) -> list[str]:
    hops: list[str] = []
    for name, value in scope.get("headers", ()):
        if name == b"x-forwarded-for":
            hops.extend(value.decode("latin-1").split(","))
    return hops
