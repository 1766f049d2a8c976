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


def atomic_write(path: str | Path, write: Callable[[BinaryIO], None], follow_symlinks: bool = True) -> Path:
    """Call ``write(file)`` on a temporary file beside ``path`` and rename it over ``path``. A symlink at ``path``
    (a dotfiles checkout) is written through: its target gets the new content and the link stays. With
    ``follow_symlinks=False`` (a cache, whose names anyone can compute) the link itself is replaced by the file."""
    path = Path(path)
    if follow_symlinks and path.is_symlink():
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


def file_sha256(path: str | Path) -> str:
    """The sha256 of a file's bytes, read a megabyte at a time (hex)."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def size_text(n: int) -> str:
    """Bytes for a message: 64 KB, 1.5 MB, 2 GB (units of 1,024)."""
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} bytes"


def check_regular(path: str | Path, limit: int) -> os.stat_result:
    """OSError unless ``path`` is a regular file of at most ``limit`` bytes (a symlink counts as what it points at):
    what to ask before opening a file that a FIFO, a device or a sparse giant in its place would block or flood."""
    st = os.stat(path)
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(f"{path}: a folder, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise OSError(f"{path}: not a regular file (a FIFO, device or socket)")
    if st.st_size > limit:
        size = size_text(st.st_size) if size_text(st.st_size) != size_text(limit) else f"{st.st_size:,} bytes"
        raise OSError(f"{path}: {size}, more than the {size_text(limit)} such a file may have")
    return st


def read_regular(path: str | Path, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes. A FIFO, device or socket would block or never end:
    refused (OSError) before it is opened (check_regular), as is a file over the limit."""
    check_regular(path, limit)
    with open(path, "rb") as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:  # it grew since
        raise OSError(f"{path}: more than the {size_text(limit)} such a file may have")
    return data


def read_text(path: str | Path, limit: int) -> str:
    """The UTF-8 text of a regular file of at most ``limit`` bytes (read_regular), a leading byte order mark
    dropped (Windows editors write one). Bytes that are not UTF-8 are a ValueError naming the file and the byte,
    not the codec's message, which names neither."""
    data = read_regular(path, limit)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text (byte {exc.start})") from None


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
