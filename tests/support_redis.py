"""Redis for the rate-limit tests: the machine's server, or a reason why there is none.

TEST_REDIS_URL (default redis://127.0.0.1:6379/0) names it. Every test uses its own key
prefix and deletes only its own keys, so tests can share a server with anyone. Without a
reachable server the Redis tests are skipped with the reason, and fail instead under
TASKAPI_TEST_REQUIRE_REDIS=1, which CI sets.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field

import redis

REQUIRE_REDIS = os.environ.get("TASKAPI_TEST_REQUIRE_REDIS") == "1"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclass
class RedisServer:
    url: str
    prefixes: list[str] = field(default_factory=list)

    def unique_prefix(self) -> str:
        """A key prefix no other test (or other user of this server) shares."""
        prefix = f"taskapi-test-{uuid.uuid4().hex[:12]}"
        self.prefixes.append(prefix)
        return prefix

    async def keys(self, prefix: str) -> list[str]:
        client = redis.asyncio.Redis.from_url(self.url, decode_responses=True)
        try:
            return [key async for key in client.scan_iter(match=f"{prefix}*")]
        finally:
            await client.aclose()

    def delete_own_keys(self) -> None:
        client = redis.Redis.from_url(self.url)
        try:
            for prefix in self.prefixes:
                keys = list(client.scan_iter(match=f"{prefix}*"))
                if keys:
                    client.delete(*keys)
        finally:
            client.close()
        self.prefixes.clear()


def redis_server() -> RedisServer | str:
    """The server to use, or a sentence saying why there is none."""
    url = os.environ.get("TEST_REDIS_URL", DEFAULT_REDIS_URL)
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        return f"no Redis at {url} ({type(exc).__name__}); set TEST_REDIS_URL or start one"
    finally:
        client.close()
    return RedisServer(url)
