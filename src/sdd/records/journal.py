"""Update several records as one step that a crash cannot leave half done.

No file system renames two files atomically, so "one step" here means: every new text is
first written completely to a temporary file beside its target; then a journal naming the
pending renames is put in place with a single atomic rename. That rename is the commit
point. Before it, a crash leaves the records untouched (only stray temporary files); after
it, the renames may be replayed any number of times, and any later ``sdd adr`` command
finishes them through ``complete_pending``. A reader that looks between two renames can
still see one side updated for a moment; only writers take the lock.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

from sdd.errors import SddError
from sdd.records.ids import ensure_state_dir, temporary_sibling, write_file

JOURNAL_NAME = "adr-journal.json"
BYTE_ORDER_MARK = "\ufeff"
LOCK_NAME = "adr.lock"
LOCK_TIMEOUT_SECONDS = 10.0
STALE_LOCK_SECONDS = 60.0


@contextlib.contextmanager
def writer_lock(state_dir: Path) -> Iterator[None]:
    """Serialise read-modify-write updates of existing records."""
    ensure_state_dir(state_dir)
    lock = state_dir / LOCK_NAME
    deadline = time.monotonic() + LOCK_TIMEOUT_SECONDS
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            with contextlib.suppress(FileNotFoundError):
                # A lock this old belongs to a process that died holding it.
                if time.time() - lock.stat().st_mtime > STALE_LOCK_SECONDS:
                    lock.unlink()
                    continue
            if time.monotonic() > deadline:
                raise SddError(
                    f"another sdd process holds {lock.name}; retry, or delete it if none runs"
                ) from None
            time.sleep(0.02)
            continue
        os.close(fd)
        break
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


def complete_pending(*, root: Path, state_dir: Path) -> bool:
    """Finish the renames of a committed journal, if one exists. True if there was one."""
    journal = state_dir / JOURNAL_NAME
    try:
        entries = json.loads(journal.read_text(encoding="utf-8"))["renames"]
    except FileNotFoundError:
        return False
    except (ValueError, KeyError, UnicodeDecodeError) as exc:
        raise SddError(f"{journal}: unreadable journal; inspect and delete it") from exc
    for source, target in entries:
        # A rename already done (source gone) is what a replay expects to find.
        with contextlib.suppress(FileNotFoundError):
            os.replace(root / source, root / target)
    journal.unlink(missing_ok=True)
    return True


def _stored(path: Path, root: Path) -> str:
    """Journal paths are relative to the root; a folder given from outside stays absolute."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def in_the_files_own_style(path: Path, text: str) -> str:
    """``text`` with the line endings and byte order mark that the file at ``path`` has now.

    Records are read with their bytes intact, so an edit of a CRLF file holds both kinds of
    line ending; a file written on Windows keeps CRLF (and its BOM) after sdd edits it.
    """
    try:
        current = path.read_bytes()
    except FileNotFoundError:
        return text
    text = text.removeprefix(BYTE_ORDER_MARK).replace("\r\n", "\n")
    if current.count(b"\r\n") * 2 > current.count(b"\n"):
        text = text.replace("\n", "\r\n")
    if current.startswith(BYTE_ORDER_MARK.encode("utf-8")):
        text = BYTE_ORDER_MARK + text
    return text


def write_together(updates: list[tuple[Path, str]], *, root: Path, state_dir: Path) -> None:
    """Replace or create every ``(path, text)`` in ``updates`` as one journaled step."""
    ensure_state_dir(state_dir)
    renames: list[tuple[str, str]] = []
    try:
        for path, text in updates:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = temporary_sibling(path, "sdd-pending")
            write_file(temporary, in_the_files_own_style(path, text))
            renames.append((_stored(temporary, root), _stored(path, root)))
        journal = state_dir / JOURNAL_NAME
        staged = temporary_sibling(journal)
        write_file(staged, json.dumps({"renames": renames}, indent=2))
        os.replace(staged, journal)  # the commit point
    except BaseException:
        for source, _ in renames:
            (root / source).unlink(missing_ok=True)
        raise
    complete_pending(root=root, state_dir=state_dir)
