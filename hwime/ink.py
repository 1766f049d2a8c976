"""Ink: what a person wrote, as strokes of points (x, y, t ms, pressure 0..1); y grows downward.

The JSON form, read by `hwime recognize` and written by the pad: ``{"strokes": [[[x, y], [x, y, t], [x, y, t, p], ...], ...]}``.
Missing t or pressure are stored as NaN so every stroke is one float array of shape (n, 4).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np


TAP_SHARE = 0.005  # a stroke spanning at most this share of its coordinates' size is a tap (0.75 px at 150 px)


class InkError(ValueError):
    """Ink data that cannot be understood (bad JSON shape, non-numeric points)."""


# what one drawing may hold: far beyond any hand (a 10-second stroke at 1 kHz is 10,000 points), far below what
# would take gigabytes to draw or store
MAX_POINTS_PER_STROKE = 20_000
MAX_STROKES = 1_000
MAX_COORDINATE = 1e6  # |x|, |y| in any unit; ±3e38 overflows rendering
# coordinates are kept to this resolution (in any unit): a drawing whose extent is 1e-38 is a dot, not a
# scale of 1e40 that overflows float32 in rendering (numpy warnings, then a blank image)
COORDINATE_RESOLUTION = 1e-9
# one ink's JSON (a .json file, a .jsonl line): ~250,000 points of pen data, a line of a dozen characters many times
# over; parsed JSON numbers take ~60 times their text in memory, so 49 MB of JSON took 3 GB
MAX_JSON_BYTES = 4 * 1024 * 1024


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _stroke_array(points: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    if not isinstance(points, np.ndarray):  # JSON: numbers only (no "12" or true taken for a coordinate)
        if not isinstance(points, (list, tuple)):
            raise InkError(f"a stroke must be a list of points, got {type(points).__name__}")
        if len(points) > MAX_POINTS_PER_STROKE:
            raise InkError(f"a stroke has {len(points)} points, more than {MAX_POINTS_PER_STROKE}")
        widths = set()
        for p in points:
            if not isinstance(p, (list, tuple)) or not all(_is_number(v) for v in p):
                raise InkError(f"a point must be a list of numbers [x, y(, t(, pressure))], got {str(p)[:40]}")
            if not 2 <= len(p) <= 4:
                raise InkError(f"a point is [x, y(, t(, pressure))]: 2 to 4 numbers, got {len(p)}")
            widths.add(len(p))
        if len(widths) > 1:  # [x, y] beside [x, y, t]: each point may carry t and pressure; the missing ones are NaN
            points = [list(p) + [math.nan] * (4 - len(p)) for p in points]
    elif len(points) > MAX_POINTS_PER_STROKE:
        raise InkError(f"a stroke has {len(points)} points, more than {MAX_POINTS_PER_STROKE}")
    try:
        arr = np.asarray(points, dtype=np.float32)
    except OverflowError:  # an integer beyond any float (1 followed by 309 zeros): a bad input, not a crash
        raise InkError(f"stroke coordinates must lie within ±{MAX_COORDINATE:g}") from None
    if arr.ndim != 2 or arr.shape[0] == 0 or not 2 <= arr.shape[1] <= 4:
        raise InkError(f"a stroke must be a non-empty list of [x, y(, t(, pressure))] points, got shape {arr.shape}")
    if not np.isfinite(arr[:, :2]).all():
        raise InkError("stroke coordinates must be finite numbers")
    if np.abs(arr[:, :2]).max() > MAX_COORDINATE:
        raise InkError(f"stroke coordinates must lie within ±{MAX_COORDINATE:g}")
    out = np.full((arr.shape[0], 4), np.nan, dtype=np.float32)
    out[:, : arr.shape[1]] = arr
    xy = out[:, :2]
    tiny = np.abs(xy) < 1e-3  # only these can be finer than the resolution; larger ones are left bit for bit
    if tiny.any():
        xy[tiny] = np.round(xy[tiny] / COORDINATE_RESOLUTION) * COORDINATE_RESOLUTION
    return out


@dataclass(frozen=True, eq=False)  # identity equality and hashing: numpy arrays have no single truth value
class Ink:
    strokes: tuple[np.ndarray, ...] = ()

    @classmethod
    def from_strokes(cls, strokes: Sequence[Sequence[Sequence[float]] | np.ndarray]) -> "Ink":
        if len(strokes) > MAX_STROKES:
            raise InkError(f"{len(strokes)} strokes, more than {MAX_STROKES}")
        return cls(tuple(_stroke_array(s) for s in strokes))

    @classmethod
    def from_json(cls, obj: object) -> "Ink":
        if not isinstance(obj, dict) or not isinstance(obj.get("strokes"), list):
            raise InkError('ink JSON must be an object with a "strokes" list')
        try:
            return cls.from_strokes(obj["strokes"])
        except (TypeError, ValueError) as exc:
            raise InkError(str(exc)) from None

    def to_json(self) -> dict:
        strokes = []
        for s in self.strokes:
            width = 4 if not np.isnan(s[:, 3]).all() else 3 if not np.isnan(s[:, 2]).all() else 2
            strokes.append([[round(float(v), 2) for v in p[:width]] for p in s])
        return {"strokes": strokes}

    @classmethod
    def load(cls, path: str | Path) -> "Ink":
        from .files import read_regular

        try:
            obj = parse_json(read_regular(path, MAX_JSON_BYTES))
        except InkError as exc:
            raise InkError(f"{path}: {exc}") from None
        return cls.from_json(obj)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_json(), ensure_ascii=False), encoding="utf-8")

    @property
    def is_empty(self) -> bool:
        return not self.strokes

    def __len__(self) -> int:
        return len(self.strokes)

    def with_stroke(self, points: Sequence[Sequence[float]] | np.ndarray) -> "Ink":
        return Ink(self.strokes + (_stroke_array(points),))

    def without_last_stroke(self) -> "Ink":
        return Ink(self.strokes[:-1])

    def scaled(self, factor: float) -> "Ink":
        """The same ink ``factor`` times as large about the origin (x and y; the times and pressures stay)."""
        strokes = [stroke.copy() for stroke in self.strokes]
        for stroke in strokes:
            stroke[:, :2] *= factor
        return Ink(tuple(strokes))

    @property
    def is_tap(self) -> bool:
        """One stroke whose points all lie within TAP_SHARE of their own distance from the origin: the pen put down
        and lifted, a dot. Relative, not in pixels: ink may come in pixels (a tap on the pad at (150, 150) may jitter by
        half a pixel) or in 0..1, where a whole 一 is narrower than one pixel."""
        if len(self.strokes) != 1:
            return False
        xy = self.strokes[0][:, :2]
        return bool((xy.max(axis=0) - xy.min(axis=0)).max() <= TAP_SHARE * np.abs(xy).max())

    def bbox(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) of all points; raises InkError on empty ink."""
        if self.is_empty:
            raise InkError("empty ink has no bounding box")
        xy = np.concatenate([s[:, :2] for s in self.strokes])
        x0, y0 = xy.min(axis=0)
        x1, y1 = xy.max(axis=0)
        return float(x0), float(y0), float(x1), float(y1)

    def simplify(self, tolerance: float) -> "Ink":
        """Drop points closer than ``tolerance`` to the Ramer-Douglas-Peucker line of their neighbours."""
        return Ink(tuple(s[_rdp_keep(s[:, :2], tolerance)] for s in self.strokes))


def _rdp_keep(xy: np.ndarray, tolerance: float) -> np.ndarray:
    keep = np.zeros(len(xy), dtype=bool)
    keep[0] = keep[-1] = True
    stack = [(0, len(xy) - 1)]
    while stack:
        a, b = stack.pop()
        if b - a < 2:
            continue
        seg = xy[b] - xy[a]
        rel = xy[a + 1 : b] - xy[a]
        norm = math.hypot(float(seg[0]), float(seg[1]))
        if norm == 0:
            dist = np.hypot(rel[:, 0], rel[:, 1])
        else:
            dist = np.abs(seg[0] * rel[:, 1] - seg[1] * rel[:, 0]) / norm
        i = int(np.argmax(dist))
        if dist[i] > tolerance:
            keep[a + 1 + i] = True
            stack += [(a, a + 1 + i), (a + 1 + i, b)]
    return keep


def parse_json(data: bytes | str) -> object:
    """JSON text or UTF-8 bytes -> object; InkError (not a crash) for bad bytes, bad JSON or absurd nesting."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return json.loads(text)
    except UnicodeDecodeError as exc:
        raise InkError(f"not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise InkError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    except ValueError as exc:  # an integer of more digits than Python converts (sys.get_int_max_str_digits)
        raise InkError(f"not valid JSON ({str(exc)[:80]})") from None
    except RecursionError:
        raise InkError("JSON nested too deeply") from None


def iter_jsonl_objects(path: str | Path) -> Iterator[tuple[int, object]]:
    """Yield (line number from 1, the line's parsed JSON or the InkError for that line); blank lines skipped.

    Each line is decoded on its own, so a bad byte or bad JSON costs that line only. A path that is no regular file
    (a FIFO would block the open for ever, /dev/zero never ends a line) is an OSError before it is opened.
    """
    from .files import check_regular

    check_regular(path, 1 << 40)  # streamed a line at a time: only the kind of file is at stake, not its size
    with open(path, "rb") as fh:
        number = 0
        while True:
            line = fh.readline(MAX_JSON_BYTES + 1)  # never more than one ink's worth in memory
            if not line:
                break
            number += 1
            if len(line) > MAX_JSON_BYTES and not line.endswith(b"\n"):
                while line and not line.endswith(b"\n"):  # skip the rest of the overlong line
                    line = fh.readline(MAX_JSON_BYTES + 1)
                yield number, InkError(f"{path}:{number}: line longer than {MAX_JSON_BYTES >> 20} MB")
                continue
            if not line.strip():
                continue
            try:
                yield number, parse_json(line)
            except InkError as exc:
                yield number, InkError(f"{path}:{number}: {exc}")


def iter_jsonl(path: str | Path, label_key: str = "char") -> Iterator[tuple[int, Ink | InkError, str | None]]:
    """Yield (line number from 1, Ink or the InkError for that line, its label or None); blank lines skipped.
    The label is the line's ``label_key``: "char" for a character, "text" for a written line. See
    iter_jsonl_objects for what a bad line or a file that is no regular file does.
    """
    for number, ink, obj in iter_jsonl_rows(path):
        label = obj.get(label_key) if isinstance(obj, dict) and not isinstance(ink, InkError) else None
        yield number, ink, label if isinstance(label, str) else None


def iter_jsonl_rows(path: str | Path) -> Iterator[tuple[int, Ink | InkError, dict | None]]:
    """iter_jsonl with each line's whole object (its other keys: "source", a writer…), None where it is no object."""
    for number, obj in iter_jsonl_objects(path):
        if isinstance(obj, InkError):
            yield number, obj, None
            continue
        try:
            yield number, Ink.from_json(obj), obj if isinstance(obj, dict) else None
        except InkError as exc:
            yield number, InkError(f"{path}:{number}: {exc}"), None
