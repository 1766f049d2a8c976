"""Writing a file so that a crash or a full disk never leaves it half written: one helper for every file hwime owns.

The new content goes to a fresh, exclusively created temporary file in the same folder (so a planted file or
symlink by a predictable name is never written through), which then replaces the target in one rename.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable


MAX_BACKUPS = 10  # set-aside copies of a damaged file kept per file; the oldest goes first


def atomic_write(path: str | Path, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(file)`` on a temporary file beside ``path`` and rename it over ``path``. A symlink at ``path``
    (a dotfiles checkout) is written through: its target gets the new content and the link stays."""
    path = Path(path)
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))


def read_regular(path: str | Path, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes. A FIFO, device or socket would block or never end:
    refused (OSError) before it is opened, as is a file over the limit."""
    path = Path(path)
    st = os.stat(path)  # follows a symlink to what it points at
    if not stat.S_ISREG(st.st_mode):
        raise OSError(f"{path}: not a regular file (a FIFO, device or socket)")
    if st.st_size > limit:
        raise OSError(f"{path}: {st.st_size / 1e6:.1f} MB, more than the {limit / 1e6:.0f} MB such a file may have")
    with open(path, "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise OSError(f"{path}: more than the {limit / 1e6:.0f} MB such a file may have")
    return data


def set_aside(path: str | Path) -> Path:
    """Move a damaged file out of the way without ever replacing an earlier backup: ``name.bak``, then
    ``name.bak.1``, ``.2`` … (at most MAX_BACKUPS; beyond that the oldest numbered one is dropped). Returns the
    backup's path; raises OSError when the move is impossible (a read-only folder)."""
    path = Path(path)
    candidates = [path.with_name(f"{path.name}.bak")] + [path.with_name(f"{path.name}.bak.{i}")
                                                        for i in range(1, MAX_BACKUPS)]
    free = next((c for c in candidates if not c.exists() and not c.is_symlink()), None)
    if free is None:  # all taken: drop the oldest numbered backup, keep the rest
        oldest = min(candidates[1:], key=lambda c: c.stat().st_mtime)
        oldest.unlink()
        free = oldest
    os.replace(path, free)  # free is free: nothing is replaced
    return free
