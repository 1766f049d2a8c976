"""Labelled samples on disk, one reader per layout: a ``<char>/`` folder of images (the label is the folder's name),
a ``file<TAB>text`` .tsv beside its images (tsv_image_places) and ink JSON lines (hwime.ink.iter_jsonl). The CLI's --learn, evaluation, adaptation and as-shipped all read
through these, so a FIFO, a stray file or a bad line is met the same way everywhere."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Iterator

from .raster import IMAGE_SUFFIXES


def is_regular(path: Path) -> bool:
    """A regular file (a FIFO would block whoever opens it, a device never end)."""
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False


def char_folder(root: str | Path) -> Iterator[tuple[str, Path]]:
    """(label, image file) of every image name in ``root``'s ``<char>/`` folders: folders in name order, each one's
    images in name order. Whether each is a regular file the reader checks (files.check_regular, or is_regular),
    so that it can say which it skipped."""
    root = Path(root)
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        for f in sorted(folder.iterdir()):
            if f.suffix.lower() in IMAGE_SUFFIXES and not f.is_dir():
                yield folder.name, f


def tsv_image_places(tsv: Path, name: str) -> tuple[Path, Path]:
    """Where the image a ``file<TAB>text`` .tsv row names may lie, in the order looked: beside the .tsv, then in the
    folder of its stem (lines-dev/casia.tsv names casia/…)."""
    return tsv.parent / name, tsv.parent / tsv.stem / name
