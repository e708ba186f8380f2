"""Record numbers that never collide, and records that never appear half-written.

Why markers and not a lock: a number is reserved by creating the marker
``<state>/reservations/<kind>/<n>`` with O_CREAT|O_EXCL, which is atomic on every local
file system, on Windows too. Exclusive creation of the final file alone is not enough,
because two writers with different slugs would both create ``0005-a.md`` and ``0005-b.md``.
After reserving, the writer scans again: a writer that reserved ``n`` earlier removes its
marker only after its record is visible, so a later reserver of ``n`` always sees that record
and moves on. The record is published by hard-linking a complete temporary file to its final
name (atomic, and it fails if the name exists); where hard links are unsupported, the final
name is created exclusively and the temporary file is renamed over it. Markers left by a
crashed process are removed once they are older than ``STALE_AFTER_SECONDS``; no writer holds
one for more than the milliseconds it takes to write a small file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from sdd.errors import SddError

STALE_AFTER_SECONDS = 600.0
# How many taken numbers a writer steps over before giving up (never reached in practice).
MAX_ATTEMPTS = 10_000


def ensure_state_dir(state_dir: Path) -> None:
    """Create the private state folder, ignored by git so markers never get committed."""
    state_dir.mkdir(parents=True, exist_ok=True)
    ignore = state_dir / ".gitignore"
    if not ignore.exists():
        with (
            contextlib.suppress(FileExistsError),
            open(ignore, "x", encoding="utf-8", newline="") as handle,
        ):
            handle.write("# Private working files of sdd; never commit them.\n*\n")


def _remove_stale_markers(folder: Path) -> None:
    now = time.time()
    with contextlib.suppress(FileNotFoundError), os.scandir(folder) as entries:
        for entry in entries:
            # Two cleaners racing here is harmless: one unlink wins, the other is ignored.
            with contextlib.suppress(OSError):
                if now - entry.stat().st_mtime > STALE_AFTER_SECONDS:
                    os.unlink(entry.path)


@contextlib.contextmanager
def _reserved(marker: Path) -> Iterator[bool]:
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        yield False
        return
    try:
        os.write(fd, str(os.getpid()).encode("ascii"))
    finally:
        os.close(fd)
    try:
        yield True
    finally:
        with contextlib.suppress(FileNotFoundError):
            marker.unlink()


def allocate(
    *,
    state_dir: Path,
    kind: str,
    taken: Callable[[], set[int]],
    publish: Callable[[int], Path],
    requested: int | None = None,
) -> tuple[int, Path]:
    """Reserve the next free number (or ``requested``) and publish the record under it.

    ``taken`` scans the numbers already used; ``publish`` writes the record for a number and
    returns its path, raising FileExistsError if the name turns out to be in use.
    """
    ensure_state_dir(state_dir)
    folder = state_dir / "reservations" / kind
    folder.mkdir(parents=True, exist_ok=True)
    _remove_stale_markers(folder)
    used = taken()
    if requested is not None:
        if requested in used:
            raise SddError(f"number {requested} is already taken")
        number = requested
    else:
        number = max(used, default=0) + 1
    for _ in range(MAX_ATTEMPTS):
        with _reserved(folder / str(number)) as reserved:
            if reserved and number not in taken():
                try:
                    return number, publish(number)
                except FileExistsError:
                    pass
        if requested is not None:
            raise SddError(f"number {requested} is already taken")
        number += 1
    raise SddError(f"no free number for {kind} after {MAX_ATTEMPTS} attempts")


def write_file(path: Path, text: str) -> None:
    """Write UTF-8 text with LF line endings on every OS, flushed to disk."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def temporary_sibling(path: Path, tag: str = "tmp") -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{tag}")


def publish_file(path: Path, text: str) -> Path:
    """Make ``path`` appear with its full content at once; FileExistsError if it exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_sibling(path)
    write_file(temporary, text)
    try:
        try:
            os.link(temporary, path)
        except FileExistsError:
            raise
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
                raise
            # No hard links here (e.g. FAT, some network shares): reserve, then replace.
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            try:
                os.replace(temporary, path)
            except BaseException:
                path.unlink(missing_ok=True)
                raise
    finally:
        temporary.unlink(missing_ok=True)
    return path
