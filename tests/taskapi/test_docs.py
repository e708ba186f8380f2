"""/docs and /redoc: offline assets under a strict policy, off in production unless asked for.

The HTTP tests read the pages and their policy over ASGI. The browser tests load them in real
headless Chromium from a live server on loopback: Swagger UI lists the operations, Authorize
signs in with an email and password, "Try it out" on getCurrentUser answers 200, and ReDoc
renders and searches, with nothing fetched from another origin.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from playwright.sync_api import Page, expect

from taskapi.docs.router import ASSETS, DOCS_CSP
from taskapi.main import create_app
from tests.conftest import make_settings
from tests.contract.conftest import CONTRACT_PATH
from tests.support_browser import PageEvents
from tests.support_server import live_server, server_environment

CONTRACT = yaml.safe_load(CONTRACT_PATH.read_text(encoding="utf-8"))
API_CSP = "default-src 'none'; frame-ancestors 'none'"
PAGES = ("/docs", "/redoc")
EMAIL = "ada@example.com"
PASSWORD = "correct horse battery"
# ReDoc's footer shows a logo from its vendor's CDN; the policy blocks it and ReDoc hides the
# image. That refusal is the only console error the pages may produce.
BLOCKED_VENDOR_LOGO = re.compile(r"^Loading the image 'https://cdn\.redoc\.ly/[^']+' violates")


def contract_operation_ids() -> set[str]:
    return {
        operation["operationId"]
        for item in CONTRACT["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    }


async def _asgi_client(tmp_path: Path, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    # The docs never touch the database, so an unmigrated SQLite path is enough.
    app = create_app(make_settings(f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}", **overrides))
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http
    finally:
        await app.state.engine.dispose()


@pytest.fixture
async def docs_client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async for http in _asgi_client(tmp_path):
        yield http


def _referenced_urls(page: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', page)


@pytest.mark.fr("009-contract-product/FR-007")
@pytest.mark.anyio
class TestPages:
    @pytest.mark.fr("009-contract-product/FR-008")
    @pytest.mark.parametrize("path", PAGES)
    async def test_page_carries_the_docs_policy(
        self, docs_client: httpx.AsyncClient, path: str
    ) -> None:
        response = await docs_client.get(path)

        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert response.headers["content-security-policy"] == DOCS_CSP
        assert response.headers["x-frame-options"] == "DENY"

    @pytest.mark.fr("009-contract-product/FR-008")
    @pytest.mark.parametrize("path", PAGES)
    async def test_page_has_no_inline_script_and_loads_only_this_origin(
        self, docs_client: httpx.AsyncClient, path: str
    ) -> None:
        page = (await docs_client.get(path)).text

        scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, flags=re.DOTALL)
        assert scripts, "the page loads no script"
        for attributes, body in scripts:
            assert 'src="' in attributes, "inline scripts would need 'unsafe-inline'"
            assert not body.strip()
        for url in _referenced_urls(page):
            assert not re.match(r"^[a-z]+:|^//", url), f"{url} is not on this origin"

    @pytest.mark.parametrize("path", PAGES)
    async def test_every_asset_a_page_references_is_served(
        self, docs_client: httpx.AsyncClient, path: str
    ) -> None:
        page = (await docs_client.get(path)).text

        for url in _referenced_urls(page):
            asset = await docs_client.get("/" + url)
            assert asset.status_code == 200, url
            assert int(asset.headers["content-length"]) > 0
            expected = {"js": "text/javascript", "css": "text/css", "png": "image/png"}
            assert asset.headers["content-type"].startswith(expected[url.rsplit(".", 1)[1]])

    async def test_swagger_ui_and_redoc_come_from_the_installed_package(
        self, docs_client: httpx.AsyncClient
    ) -> None:
        bundle = await docs_client.get("/docs/assets/swagger-ui-bundle.js")
        redoc = await docs_client.get("/docs/assets/redoc.standalone.js")

        assert bundle.content == ASSETS["swagger-ui-bundle.js"].read_bytes()
        assert b"SwaggerUIBundle" in bundle.content[:1000]
        assert redoc.content == ASSETS["redoc.standalone.js"].read_bytes()
        assert b'"2.5.3"' in redoc.content

    @pytest.mark.fr("009-contract-product/FR-009")
    async def test_swagger_ui_keeps_no_authorization_between_page_loads(
        self, docs_client: httpx.AsyncClient
    ) -> None:
        init = (await docs_client.get("/docs/assets/swagger-init.js")).text

        assert re.search(r"\bpersistAuthorization:\s*false\b", init)
        assert "validatorUrl: null" in init

    async def test_unknown_asset_is_a_404_problem(self, docs_client: httpx.AsyncClient) -> None:
        response = await docs_client.get("/docs/assets/swagger-ui.js")

        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"] == "urn:taskapi:problem:docs-asset-not-found"

    @pytest.mark.parametrize(
        "path", ["/docs/assets/..%2Frouter.py", "/docs/assets/../router.py", "/docs/assets/"]
    )
    async def test_only_listed_assets_are_reachable(
        self, docs_client: httpx.AsyncClient, path: str
    ) -> None:
        response = await docs_client.get(path)

        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"

    @pytest.mark.fr("009-contract-product/FR-008")
    async def test_api_responses_keep_the_strict_policy(
        self, docs_client: httpx.AsyncClient
    ) -> None:
        for path in ("/openapi.json", "/health/live", "/docs/assets/swagger-ui-bundle.js"):
            response = await docs_client.get(path)
            assert response.headers["content-security-policy"] == API_CSP, path


@pytest.mark.fr("009-contract-product/FR-010")
@pytest.mark.anyio
class TestProduction:
    """In production the pages are off unless TASKAPI_DOCS=true; the contract stays served."""

    @pytest.fixture
    async def production(self, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
        async for http in _asgi_client(tmp_path, env="production"):
            yield http

    @pytest.fixture
    async def production_with_docs(self, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
        async for http in _asgi_client(tmp_path, env="production", docs=True):
            yield http

    @pytest.mark.parametrize("path", [*PAGES, "/docs/assets/swagger-ui-bundle.js"])
    async def test_docs_are_off_by_default(self, production: httpx.AsyncClient, path: str) -> None:
        response = await production.get(path)

        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["content-security-policy"] == API_CSP

    async def test_the_contract_is_still_served(self, production: httpx.AsyncClient) -> None:
        response = await production.get("/openapi.json")

        assert response.status_code == 200
        assert response.json() == CONTRACT

    @pytest.mark.parametrize("path", PAGES)
    async def test_docs_true_turns_them_on_with_the_policy(
        self, production_with_docs: httpx.AsyncClient, path: str
    ) -> None:
        response = await production_with_docs.get(path)

        assert response.status_code == 200
        assert response.headers["content-security-policy"] == DOCS_CSP

    def test_the_setting_is_read_from_the_environment(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        monkeypatch.setenv("TASKAPI_DOCS", "true")
        url = f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}"

        assert make_settings(url, env="production").docs_enabled
        monkeypatch.setenv("TASKAPI_DOCS", "false")
        assert not make_settings(url, env="development").docs_enabled
        monkeypatch.delenv("TASKAPI_DOCS")
        assert not make_settings(url, env="production").docs_enabled
        assert make_settings(url, env="development").docs_enabled


# --- In a real browser ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def docs_server(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A live server on a fresh SQLite database, with one registered user."""
    database = tmp_path_factory.mktemp("docs") / "docs.db"
    shutil.copyfile(sqlite_template, database)
    url = f"sqlite+aiosqlite:///{database}"
    with live_server(url, server_environment(url)) as base_url:
        registered = httpx.post(
            f"{base_url}/api/v1/auth/register",
            json={"email": EMAIL, "password": PASSWORD},
            timeout=10,
        )
        assert registered.status_code == 201, registered.text
        yield base_url


def assert_stayed_on(events: PageEvents, origin: str) -> None:
    assert events.fetched_elsewhere(origin) == []
    unexpected = [e for e in events.console_errors if not BLOCKED_VENDOR_LOGO.match(e)]
    assert unexpected == []


@pytest.mark.fr("009-contract-product/FR-007", "009-contract-product/FR-011")
def test_swagger_ui_renders_every_operation(
    page: Page, page_events: PageEvents, docs_server: str
) -> None:
    page.goto(f"{docs_server}/docs")
    page.locator(".opblock").first.wait_for()

    shown = {
        element.get_attribute("id") or ""
        for element in page.locator(".opblock[id^='operations-']").all()
    }
    assert {name.rsplit("-", 1)[1] for name in shown} == contract_operation_ids()
    expect(page.locator(".info .title")).to_contain_text(CONTRACT["info"]["title"])
    assert_stayed_on(page_events, docs_server)


@pytest.mark.fr("009-contract-product/FR-009", "009-contract-product/FR-011")
def test_authorize_then_try_it_out_on_get_current_user(
    page: Page, page_events: PageEvents, docs_server: str
) -> None:
    page.goto(f"{docs_server}/docs")
    page.locator("button.authorize").first.click()
    page.locator("#oauth_username").fill(EMAIL)
    page.locator("#oauth_password").fill(PASSWORD)
    with page.expect_response(lambda r: r.url.endswith("/api/v1/auth/token")) as issued:
        page.locator(".auth-btn-wrapper button.authorize").click()
    assert issued.value.status == 200
    token = issued.value.json()["access_token"]
    page.locator(".auth-btn-wrapper button", has_text="Logout").wait_for()
    page.locator("button.btn-done").click()

    operation = page.locator("#operations-users-getCurrentUser")
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    with page.expect_request(lambda r: r.url.endswith("/api/v1/users/me")) as sent:
        operation.locator("button.execute").click()
    result = operation.locator(".live-responses-table .response .response-col_status")

    expect(result).to_have_text("200")
    assert sent.value.headers["authorization"] == f"Bearer {token}"
    body = operation.locator(".live-responses-table .response-col_description pre").first
    expect(body).to_contain_text(EMAIL)
    # The token lives in the page's memory only: nothing a later script could read back.
    stored = page.evaluate("JSON.stringify([{...localStorage}, {...sessionStorage}])")
    assert token not in stored
    assert stored == "[{},{}]"
    assert_stayed_on(page_events, docs_server)


@pytest.mark.fr("009-contract-product/FR-007", "009-contract-product/FR-011")
def test_redoc_renders_and_searches(page: Page, page_events: PageEvents, docs_server: str) -> None:
    page.goto(f"{docs_server}/redoc")

    expect(page.locator("h1").first).to_contain_text(CONTRACT["info"]["title"])
    expect(page.get_by_role("heading", name="Read one task")).to_be_attached()
    # Search runs in a worker made from a blob: URL, which the policy allows.
    page.get_by_placeholder("Search...").fill("token")
    expect(page.locator("[role='search'] li", has_text="access token").first).to_be_visible()
    assert_stayed_on(page_events, docs_server)
