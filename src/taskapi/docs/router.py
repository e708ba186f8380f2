"""GET /docs (Swagger UI), GET /redoc (ReDoc) and the files they load, all from this server.

The JavaScript and CSS come from the installed `fastapi-offline` package (Swagger UI 5.32.6,
ReDoc 2.5.3) and from `static/` beside this module; nothing is fetched from another origin, so
the pages work offline. The pages carry no inline script, which lets their Content-Security-Policy
allow scripts from this origin only.
"""

from __future__ import annotations

import html
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Final

from fastapi import APIRouter, Request
from fastapi import Path as PathParameter
from fastapi.responses import FileResponse, HTMLResponse

from taskapi.docs.errors import DocsAssetNotFound

# What the pages may load: scripts, styles, images and fonts from this origin, and the contract
# from it. Swagger UI and ReDoc set element styles from their scripts, which needs
# 'unsafe-inline' for styles (not for scripts). ReDoc builds its search index in a worker made
# from a blob: URL. Nothing may frame the pages, and they submit no forms.
DOCS_CSP: Final = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "worker-src blob:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)

_VENDOR_DIR = Path(str(files("fastapi_offline") / "static"))
_OWN_DIR = Path(__file__).with_name("static")
# Served under /docs/assets/<name>; anything else there is a 404.
ASSETS: Final[dict[str, Path]] = {
    "swagger-ui-bundle.js": _VENDOR_DIR / "swagger-ui-bundle.js",
    "swagger-ui.css": _VENDOR_DIR / "swagger-ui.css",
    "redoc.standalone.js": _VENDOR_DIR / "redoc.standalone.js",
    "favicon.png": _VENDOR_DIR / "favicon.png",
    "swagger-init.js": _OWN_DIR / "swagger-init.js",
    "docs.css": _OWN_DIR / "docs.css",
}
_MEDIA_TYPES: Final = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}

_SWAGGER_PAGE: Final = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - Swagger UI</title>
<link rel="icon" type="image/png" href="docs/assets/favicon.png">
<link rel="stylesheet" href="docs/assets/swagger-ui.css">
<link rel="stylesheet" href="docs/assets/docs.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/assets/swagger-ui-bundle.js"></script>
<script src="docs/assets/swagger-init.js"></script>
</body>
</html>
"""

_REDOC_PAGE: Final = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - ReDoc</title>
<link rel="icon" type="image/png" href="docs/assets/favicon.png">
<link rel="stylesheet" href="docs/assets/docs.css">
</head>
<body>
<redoc spec-url="openapi.json"></redoc>
<script src="docs/assets/redoc.standalone.js"></script>
</body>
</html>
"""

router = APIRouter(include_in_schema=False)


def _page(template: str, request: Request) -> HTMLResponse:
    title = html.escape(request.app.title)
    return HTMLResponse(
        template.format(title=title),
        headers={"Content-Security-Policy": DOCS_CSP, "Cache-Control": "no-cache"},
    )


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    return _page(_SWAGGER_PAGE, request)


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    return _page(_REDOC_PAGE, request)


@router.get("/docs/assets/{name}")
async def docs_asset(name: Annotated[str, PathParameter(max_length=100)]) -> FileResponse:
    path = ASSETS.get(name)
    if path is None:
        raise DocsAssetNotFound(f"There is no documentation asset named {name!r}.")
    return FileResponse(
        path,
        media_type=_MEDIA_TYPES[path.suffix],
        headers={"Cache-Control": "public, max-age=86400"},
    )
