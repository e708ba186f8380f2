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


@pytest.mark.fr("003-platform/FR-009")
def test_the_contract_is_read_as_a_safe_yaml_loader_reads_it() -> None:
    """The app reads the contract with libyaml when it can; the document must not differ."""
    from pathlib import Path

    import yaml

    from taskapi.main import load_contract

    path = Path(__file__).parents[2] / "openapi" / "openapi.yaml"
    assert load_contract(path) == yaml.safe_load(path.read_text(encoding="utf-8"))
