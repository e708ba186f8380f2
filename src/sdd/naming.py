"""Slugs, feature names and the repository-relative paths stored in records."""

from __future__ import annotations

import posixpath
import re
import unicodedata
from pathlib import Path, PurePath

from sdd.errors import SddError

MAX_SLUG_LENGTH = 50
_NON_SLUG = re.compile(r"[^a-z0-9]+")
_FEATURE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:/")


def slugify(text: str) -> str:
    """Lower-case ASCII words joined by hyphens, cut at a word boundary."""
    # NFKD splits accented letters so "Café" becomes "cafe" rather than "caf".
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _NON_SLUG.sub("-", ascii_text.lower()).strip("-")
    if len(slug) > MAX_SLUG_LENGTH:
        slug = slug[:MAX_SLUG_LENGTH].rsplit("-", 1)[0] or slug[:MAX_SLUG_LENGTH]
    return slug


def require_title(title: str) -> str:
    """A trimmed one-line title that yields a non-empty slug, or an SddError."""
    cleaned = title.strip()
    if any(unicodedata.category(ch) == "Cc" for ch in cleaned):
        raise SddError("title must be a single line without control characters")
    if not slugify(cleaned):
        raise SddError(f"title {title!r} has no letters or digits to build a file name from")
    return cleaned


def require_slug(value: str, *, option: str) -> str:
    slug = slugify(value)
    if not slug:
        raise SddError(f"{option} {value!r} has no letters or digits to build a file name from")
    return slug


def require_feature_name(name: str) -> str:
    """A feature folder name that cannot escape its parent folder."""
    if "/" in name or "\\" in name or ".." in name or not _FEATURE_NAME.match(name):
        raise SddError(
            f"feature name {name!r} is not a plain folder name "
            "(letters, digits, '.', '_', '-'; no '/' or '..')"
        )
    return name


def record_path(value: str, *, root: PurePath, cwd: PurePath) -> str:
    """``value`` as a repository-relative POSIX path, whatever OS spelled it.

    Backslashes are read as separators because a record path containing a literal
    backslash is, in practice, always a Windows path typed on another machine.
    """
    text = value.strip().replace("\\", "/")
    if not text:
        raise SddError("empty path given to --file")
    root_text = root.as_posix().replace("\\", "/").rstrip("/")
    if _WINDOWS_DRIVE.match(text) or text.startswith("/"):
        absolute = posixpath.normpath(text)
    else:
        cwd_text = cwd.as_posix().replace("\\", "/").rstrip("/")
        absolute = posixpath.normpath(f"{cwd_text}/{text}")
    # Drive letters and Windows paths compare case-insensitively.
    fold = bool(_WINDOWS_DRIVE.match(root_text + "/"))
    left, right = (absolute.lower(), root_text.lower()) if fold else (absolute, root_text)
    if left == right:
        raise SddError(f"--file {value!r} names the repository root, not a file")
    if not left.startswith(right + "/"):
        raise SddError(f"--file {value!r} is outside the repository {root_text}")
    return absolute[len(root_text) + 1 :]


def display_path(path: Path, root: Path) -> str:
    """Repository-relative POSIX text for messages; absolute when outside the root."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()
