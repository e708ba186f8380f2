"""Problems of the documentation pages."""

from __future__ import annotations

from taskapi.core.errors import NotFound


class DocsAssetNotFound(NotFound):
    slug = "docs-asset-not-found"
    title = "Documentation asset not found"
