"""The harness itself: each test gets its own empty, migrated database."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import SignedInUser

pytestmark = pytest.mark.anyio


@pytest.mark.fr("002-tasks/FR-005", "003-platform/FR-020")
async def test_fresh_database_has_no_tasks(client: httpx.AsyncClient, user: SignedInUser) -> None:
    response = await client.get("/api/v1/tasks", headers=user.headers)
    assert response.status_code == 200
    assert response.json() == {"items": [], "next_cursor": None}
