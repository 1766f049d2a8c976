"""Make Me a Hanzi stroke medians, converted once from the npm package `hanzi-writer-data` into a compact .npz.

Stored in assets/ (Arphic Public License, ARPHICPL.TXT beside it) so training needs no npm at run time.
Coordinates are the 1024-unit Make Me a Hanzi box turned y-down and quantized to 1/4 unit steps (uint8).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

import numpy as np

from ..bundled import asset_path

MEDIANS_FILE = "mmah-medians.npz"
_QUANT = 4.0  # 1024 units / 256 levels
_BASELINE = 900  # Make Me a Hanzi draws y up with the top of the em box at 900


def convert_hanzi_writer_data(package_dir: str | Path, out_path: str | Path, chars: Iterable[str]) -> int:
    """Write the medians of ``chars`` found in an unpacked hanzi-writer-data package; returns how many."""
    package_dir = Path(package_dir)
    names, stroke_counts, point_counts, points = [], [], [], []
    for ch in chars:
        f = package_dir / f"{ch}.json"
        if not f.exists():
            continue
        medians = json.loads(f.read_text(encoding="utf-8"))["medians"]
        names.append(ch)
        stroke_counts.append(len(medians))
        for stroke in medians:
            xy = np.asarray(stroke, dtype=np.float32)
            xy[:, 1] = _BASELINE - xy[:, 1]
            point_counts.append(len(xy))
            points.append(np.clip(np.round(xy / _QUANT), 0, 255).astype(np.uint8))
    np.savez_compressed(
        out_path,
        chars=np.array(names),
        stroke_counts=np.array(stroke_counts, dtype=np.uint8),
        point_counts=np.array(point_counts, dtype=np.uint16),
        points=np.concatenate(points) if points else np.zeros((0, 2), np.uint8),
    )
    return len(names)


# Components that fast writers join into fewer strokes, and which of their strokes (0-based, in writing order) run
# into the next: 宀 as a dot and one hook, 扌 with the hook flowing into the rising stroke, 氵 as one zigzag, 讠 as
# one stroke. A character has one when its first strokes match the component's own medians (see `component`).
CURSIVE_JOINS: dict[str, tuple[int, ...]] = {"宀": (1,), "扌": (0, 1), "氵": (0, 1), "讠": (0,)}
_MATCH_POINTS = 12
_MATCH_DISTANCE = 0.08  # mean point distance, in units of the strokes' bounding box; 0.12 lets 衤 pass as 讠


def _shape(strokes: list[np.ndarray]) -> np.ndarray:
    """Strokes scaled jointly into a unit box, each resampled to _MATCH_POINTS points along its length."""
    pts = np.concatenate(strokes)
    low = pts.min(axis=0)
    span = max(1.0, float((pts.max(axis=0) - low).max()))
    out = []
    for s in strokes:
        xy = (s - low) / span
        seg = np.hypot(*np.diff(xy, axis=0).T) if len(xy) > 1 else np.zeros(0)
        cum = np.concatenate([[0.0], np.cumsum(seg)])
        t = np.linspace(0.0, cum[-1], _MATCH_POINTS)
        out.append(np.stack([np.interp(t, cum, xy[:, 0]), np.interp(t, cum, xy[:, 1])], axis=1))
    return np.stack(out)


class StrokeTable:
    """Character -> list of median polylines (float32 (n, 2), 0..1024, y down)."""

    def __init__(self, path: str | Path | None = None):
        path = Path(path) if path else asset_path(MEDIANS_FILE)
        with np.load(path) as z:
            chars, stroke_counts, point_counts, points = z["chars"], z["stroke_counts"], z["point_counts"], z["points"]
        point_ends = np.cumsum(point_counts.astype(np.int64))
        stroke_ends = np.cumsum(stroke_counts.astype(np.int64))
        self._index: dict[str, tuple[int, int]] = {}
        start = 0
        for ch, end in zip(chars.tolist(), stroke_ends.tolist()):
            self._index[ch] = (start, end)
            start = end
        self._point_starts = np.concatenate([[0], point_ends[:-1]])
        self._point_ends = point_ends
        self._points = points.astype(np.float32) * _QUANT
        self._templates = {c: _shape(self.medians(c)) for c in CURSIVE_JOINS if c in self._index}
        self._components: dict[str, str | None] = {}

    def __contains__(self, ch: str) -> bool:
        return ch in self._index

    def __len__(self) -> int:
        return len(self._index)

    def medians(self, ch: str) -> list[np.ndarray]:
        a, b = self._index[ch]
        return [self._points[self._point_starts[i] : self._point_ends[i]] for i in range(a, b)]

    def component(self, ch: str) -> str | None:
        """The CURSIVE_JOINS component ``ch`` starts with (安 → 宀, 打 → 扌), or None: its first strokes, scaled
        together, lie within _MATCH_DISTANCE of the component's own medians, stroke by stroke."""
        if ch not in self._components:
            found = None
            medians = self.medians(ch) if ch in self else []
            for name, template in self._templates.items():
                k = len(template)
                if ch != name and len(medians) > k:
                    distance = float(np.linalg.norm(_shape(medians[:k]) - template, axis=2).mean())
                    if distance < _MATCH_DISTANCE:
                        found = name
                        break
            self._components[ch] = found
        return self._components[ch]
