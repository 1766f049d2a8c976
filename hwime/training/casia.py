"""Readers for CASIA-HWDB .gnt (offline images) and CASIA-OLHWDB .pot (online strokes), and for their text
pages: .dgrl (offline lines) and .ptts / .wptt (online lines).

Each reads the whole file into one numpy buffer; each record costs a few slices, never a per-pixel loop.
A record that does not add up raises CasiaFormatError naming the file and the record's byte offset.

.gnt record: uint32 size (whole record), 2-byte GB tag (lead byte first), uint16 width, uint16 height,
             width*height bytes of grayscale (255 = paper), row by row.
.pot sample (CASIA-OLHWDB's own description; public parsers agree): an 8-byte header — uint16 size (whole
             sample), 4-byte tag (the GB code, lead byte first, then two zero bytes), uint16 stroke count — then
             int16 (x, y) points; (-1, 0) ends a stroke, (-1, -1) ends the sample.
.dgrl page (CASIA-HWDB2.x offline text lines, CASIA's published layout): uint32 header size, 8-byte format code
             "DGRL", an illustration (header size − 36 bytes), 20-byte code type, uint16 code length, uint16 bits per
             pixel (8: grayscale); uint32 page height, width, line count; then per line: uint32 character count,
             that many codes of code-length bytes (GB, lead byte first; ASCII padded with zeros), uint32 top, left,
             height, width, and height*width bytes of grayscale (255 = paper).
.ptts / .wptt page (CASIA-OLHWDB2.x online text pages; one layout under both names: CASIA's WPTTRead description,
             and public .ptts parsers that read the same fields in the same order): uint32 header size,
             8-byte format code, an illustration (header size − 54 bytes), 20-byte code type, uint16 code length,
             20-byte data type of the coordinates ("short": int16; "int": int32); two uint32 (sample and page
             numbers); uint32 stroke count, per stroke a uint16 point count and its (x, y) points; uint16 line count,
             per line a uint16 stroke count, that many uint16 stroke indices (the line's strokes, in writing order),
             a uint16 character count and that many codes of code-length bytes (GB, lead byte first).
All integers little-endian. A tag that decodes to a control character is a corrupt record.

A page is read only from a regular file of at most MAX_PAGE_BYTES (a FIFO or device would block or never end), and
what a page may make the reader build is capped far above any real page (CASIA-OLHWDB2.x pages hold a few thousand
strokes and some tens of thousands of points): MAX_PAGE_STROKES strokes, MAX_PAGE_POINTS points (as stored, and as
its lines name them: a line may name one stroke many times), MAX_LINE_POINTS points in one line. A .dgrl line image
must have at least one pixel. Beyond a cap the page is a CasiaFormatError at the offending offset, at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from ..files import read_regular
from ..ink import Ink, InkError

GNT_HEADER = 10
POT_HEADER = 8

# what one text page may hold; far beyond CASIA's pages, far below what takes gigabytes (a 140 KB page naming one
# 20,000-point stroke 30,000 times once took 5 GB; a 20 MB page of ten million empty strokes 2.3 GB and a minute)
MAX_PAGE_BYTES = 64 << 20  # a whole A4 page scanned at 300 dpi in grayscale is ~9 MB; a .ptts page ~0.2 MB
MAX_PAGE_STROKES = 100_000
MAX_PAGE_POINTS = 2_000_000
MAX_LINE_POINTS = 200_000


class CasiaFormatError(ValueError):
    def __init__(self, path: str | Path, offset: int, problem: str):
        super().__init__(f"{path}: corrupt record at byte offset {offset}: {problem}")
        self.path, self.offset = str(path), offset


def decode_tag(tag: bytes) -> str:
    """A GB2312/GBK code as stored by CASIA; single-byte ASCII codes are padded with a zero byte."""
    raw = tag.rstrip(b"\x00") or tag
    return raw.decode("gbk")


def encode_tag(ch: str) -> bytes:
    raw = ch.encode("gbk")
    return raw if len(raw) == 2 else raw + b"\x00"


def _label(path: str | Path, data: memoryview, offset: int, at: int) -> str:
    """The character of the record at offset, from the 2-byte GB code ``at`` bytes into it."""
    tag = bytes(data[offset + at : offset + at + 2])
    try:
        label = decode_tag(tag)
    except UnicodeDecodeError:
        raise CasiaFormatError(path, offset, f"tag {tag.hex()} is not a GB code") from None
    if len(label) != 1 or not label.isprintable() or label.isspace():
        raise CasiaFormatError(path, offset, f"tag {tag.hex()} is not a printable character")
    return label


def iter_gnt(path: str | Path) -> Iterator[tuple[str, np.ndarray]]:
    """(character, uint8 image (height, width)) for each record of a .gnt file; images are views of one buffer."""
    buf = np.fromfile(path, dtype=np.uint8)
    data = memoryview(buf)
    n, offset = len(buf), 0
    while offset < n:
        if offset + GNT_HEADER > n:
            raise CasiaFormatError(path, offset, f"file ends inside a record header ({n - offset} of {GNT_HEADER} bytes)")
        size = int.from_bytes(data[offset : offset + 4], "little")
        width = int.from_bytes(data[offset + 6 : offset + 8], "little")
        height = int.from_bytes(data[offset + 8 : offset + 10], "little")
        if width == 0 or height == 0 or size != GNT_HEADER + width * height:
            raise CasiaFormatError(path, offset, f"size {size} does not match {width}x{height} image")
        if offset + size > n:
            raise CasiaFormatError(path, offset, f"record of {size} bytes runs past the end of the file ({n - offset} left)")
        yield _label(path, data, offset, 4), buf[offset + GNT_HEADER : offset + size].reshape(height, width)
        offset += size


def write_gnt(path: str | Path, samples: list[tuple[str, np.ndarray]]) -> None:
    """Write records in the .gnt layout (used by tests and to convert other data to HWDB form)."""
    with open(path, "wb") as fh:
        for label, image in samples:
            h, w = image.shape
            fh.write((GNT_HEADER + w * h).to_bytes(4, "little") + encode_tag(label))
            fh.write(w.to_bytes(2, "little") + h.to_bytes(2, "little") + np.ascontiguousarray(image, np.uint8).tobytes())


def iter_pot(path: str | Path) -> Iterator[tuple[str, Ink]]:
    """(character, Ink) for each sample of a .pot file."""
    buf = np.fromfile(path, dtype=np.uint8)
    data = memoryview(buf)
    n, offset = len(buf), 0
    while offset < n:
        if offset + POT_HEADER > n:
            raise CasiaFormatError(path, offset, f"file ends inside a sample header ({n - offset} of {POT_HEADER} bytes)")
        size = int.from_bytes(data[offset : offset + 2], "little")
        if bytes(data[offset + 4 : offset + 6]) != b"\x00\x00":
            raise CasiaFormatError(path, offset, f"tag {bytes(data[offset + 2 : offset + 6]).hex()} does not end in two zero bytes")
        strokes_declared = int.from_bytes(data[offset + 6 : offset + 8], "little")
        if size < POT_HEADER + 4 or (size - POT_HEADER) % 4:
            raise CasiaFormatError(path, offset, f"sample size {size} is not a header plus whole (x, y) points")
        if offset + size > n:
            raise CasiaFormatError(path, offset, f"sample of {size} bytes runs past the end of the file ({n - offset} left)")
        label = _label(path, data, offset, 2)
        pts = buf[offset + POT_HEADER : offset + size].view("<i2").reshape(-1, 2)
        if tuple(pts[-1]) != (-1, -1):
            raise CasiaFormatError(path, offset, "sample does not end with the (-1, -1) marker")
        ends = np.flatnonzero((pts[:-1, 0] == -1) & (pts[:-1, 1] == 0))
        if len(ends) != strokes_declared or (len(ends) and ends[-1] != len(pts) - 2):
            raise CasiaFormatError(path, offset, f"{strokes_declared} strokes declared, {len(ends)} stroke ends found")
        starts = np.concatenate([[0], ends[:-1] + 1])
        if np.any(ends - starts < 1):
            raise CasiaFormatError(path, offset, "empty stroke")
        yield label, Ink.from_strokes([pts[a:b].astype(np.float32) for a, b in zip(starts, ends)])
        offset += size


def write_pot(path: str | Path, samples: list[tuple[str, list[np.ndarray]]]) -> None:
    """Write samples in the .pot layout; each stroke an int16-range (n, 2) array."""
    with open(path, "wb") as fh:
        for label, strokes in samples:
            body = b"".join(np.asarray(s, "<i2").tobytes() + np.array([-1, 0], "<i2").tobytes() for s in strokes)
            body += np.array([-1, -1], "<i2").tobytes()
            fh.write((POT_HEADER + len(body)).to_bytes(2, "little") + encode_tag(label) + b"\x00\x00")
            fh.write(len(strokes).to_bytes(2, "little") + body)


DGRL_FIXED = 36  # header bytes besides the illustration


def _uint_reader(path: str | Path, buf: np.ndarray):
    """uint(at, size): the little-endian unsigned integer of ``size`` bytes at ``at``; a file that ends before it
    is a CasiaFormatError at that offset."""
    data, n = memoryview(buf), len(buf)

    def uint(at: int, size: int = 4) -> int:
        if at + size > n:
            raise CasiaFormatError(path, at, f"the file ends {at + size - n} bytes early")
        return int.from_bytes(data[at : at + size], "little")

    return uint


def read_page(path: str | Path) -> np.ndarray:
    """A text page's bytes as a read-only uint8 buffer; OSError for what is not a regular file of at most
    MAX_PAGE_BYTES (read_regular)."""
    return np.frombuffer(read_regular(path, MAX_PAGE_BYTES), dtype=np.uint8)


def iter_dgrl(path: str | Path) -> Iterator[tuple[str, np.ndarray]]:
    """(text, uint8 line image (height, width), read-only) for each text line of a .dgrl page."""
    buf = read_page(path)
    data, n = memoryview(buf), len(buf)
    u32 = _uint_reader(path, buf)

    header = u32(0)
    if header < DGRL_FIXED or header > n or bytes(data[4:8]) != b"DGRL":
        raise CasiaFormatError(path, 0, "not a DGRL page (no DGRL format code or a header larger than the file)")
    code_length = int.from_bytes(data[header - 4 : header - 2], "little")
    bits = int.from_bytes(data[header - 2 : header], "little")
    if code_length not in (1, 2, 4) or bits != 8:
        raise CasiaFormatError(path, header - 4, f"code length {code_length} / {bits} bits per pixel: only 8-bit "
                                                 "grayscale pages with 1-, 2- or 4-byte codes are read")
    at = header
    _, _, lines = u32(at), u32(at + 4), u32(at + 8)
    at += 12
    for _ in range(lines):
        start = at
        count = u32(at)
        at += 4
        codes = bytes(data[at : at + count * code_length])
        if len(codes) != count * code_length:
            raise CasiaFormatError(path, start, "the line's codes run past the end of the file")
        at += count * code_length
        chars = [_code(path, start, codes[k * code_length : (k + 1) * code_length]) for k in range(count)]
        _, _, h, w = u32(at), u32(at + 4), u32(at + 8), u32(at + 12)
        at += 16
        if h == 0 or w == 0:  # would pass here and fail later, in the recognizer, naming neither file nor line
            raise CasiaFormatError(path, start, f"a {w}x{h} line image (no pixels)")
        if h * w > n - at:
            raise CasiaFormatError(path, start, f"a {w}x{h} line image runs past the end of the file")
        yield "".join(chars), buf[at : at + h * w].reshape(h, w)
        at += h * w


def write_dgrl(path: str | Path, lines: list[tuple[str, np.ndarray]], illustration: bytes = b"hwime") -> Path:
    """A .dgrl page of these (text, grayscale image) lines in the layout iter_dgrl reads (tests, converters)."""
    header = DGRL_FIXED + len(illustration)
    out = bytearray(header.to_bytes(4, "little") + b"DGRL\x00\x00\x00\x00" + illustration
                    + b"GB".ljust(20, b"\x00") + (2).to_bytes(2, "little") + (8).to_bytes(2, "little"))
    height = sum(im.shape[0] for _, im in lines)
    width = max(im.shape[1] for _, im in lines)
    out += height.to_bytes(4, "little") + width.to_bytes(4, "little") + len(lines).to_bytes(4, "little")
    top = 0
    for text, im in lines:
        out += len(text).to_bytes(4, "little") + b"".join(encode_tag(c) for c in text)
        for v in (top, 0, im.shape[0], im.shape[1]):
            out += int(v).to_bytes(4, "little")
        out += np.ascontiguousarray(im, dtype=np.uint8).tobytes()
        top += im.shape[0]
    Path(path).write_bytes(bytes(out))
    return Path(path)


ONLINE_PAGE_FIXED = 54  # header bytes besides the illustration
ONLINE_PAGE_COORDINATES = {"short": np.dtype("<i2"), "int": np.dtype("<i4")}


def iter_online_page(path: str | Path) -> Iterator[tuple[str, Ink]]:
    """(text, ink) for each text line of a CASIA online text page (.ptts or .wptt), one line built at a time; the
    page's strokes stay views of the file's bytes until a line draws them."""
    buf = read_page(path)
    uint = _uint_reader(path, buf)
    header, code_length, coordinate = _online_header(path, buf)
    strokes, at = _online_strokes(path, buf, header + 8, coordinate)  # + the sample and page numbers
    lengths = np.array([len(s) for s in strokes], dtype=np.int64)  # a line's points counted without a Python loop
    lines = uint(at, 2)
    at += 2
    named = 0  # points the lines have drawn so far
    for _ in range(lines):
        start = at
        members = uint(at, 2)
        if at + 2 + 2 * members > len(buf):
            raise CasiaFormatError(path, start, "the line's stroke indices run past the end of the file")
        indices = np.frombuffer(buf, "<u2", members, at + 2).astype(np.int64)
        if members and int(indices.max()) >= len(strokes):
            raise CasiaFormatError(path, start, f"stroke {int(indices.max())} of a page of {len(strokes)} strokes")
        points = int(lengths[indices].sum())
        named += points
        if points > MAX_LINE_POINTS:
            raise CasiaFormatError(path, start, f"a line of {points:,} points, more than {MAX_LINE_POINTS:,}")
        if named > MAX_PAGE_POINTS:
            raise CasiaFormatError(path, start, f"the lines name {named:,} points, more than {MAX_PAGE_POINTS:,}")
        at += 2 + 2 * members
        text, at = _online_text(path, buf, uint, at, start, code_length)
        try:
            ink = Ink.from_strokes([strokes[i] for i in indices])
        except InkError as exc:
            raise CasiaFormatError(path, start, str(exc)) from None
        yield text, ink


def _online_header(path: str | Path, buf: np.ndarray) -> tuple[int, int, np.dtype]:
    """(header size, code length, coordinate dtype) of an online text page."""
    uint, n = _uint_reader(path, buf), len(buf)
    header = uint(0, 4)
    if header < ONLINE_PAGE_FIXED or header > n:
        raise CasiaFormatError(path, 0, f"not an online text page: a header of {header} bytes in a {n}-byte file")
    code_length = uint(header - 22, 2)
    data_type = bytes(buf[header - 20 : header]).rstrip(b"\x00").decode("ascii", "replace").strip().lower()
    coordinate = ONLINE_PAGE_COORDINATES.get(data_type)
    if code_length not in (1, 2, 4) or coordinate is None:
        raise CasiaFormatError(path, header - 22, f"code length {code_length}, coordinates {data_type!r}: only 1-, 2- "
                                                  "or 4-byte codes and short or int coordinates are read")
    return header, code_length, coordinate


def _online_strokes(path: str | Path, buf: np.ndarray, at: int, coordinate: np.dtype) -> tuple[list[np.ndarray], int]:
    """The page's strokes as (points, 2) views of ``buf`` (nothing copied), and the offset after them. The stroke
    and point counts are checked before anything is built: ten million empty strokes were ten million arrays."""
    uint, n = _uint_reader(path, buf), len(buf)
    count = uint(at, 4)
    if count > MAX_PAGE_STROKES:
        raise CasiaFormatError(path, at, f"{count:,} strokes, more than the {MAX_PAGE_STROKES:,} a page may have")
    at += 4
    strokes, total = [], 0
    for _ in range(count):
        points = uint(at, 2)
        size = points * 2 * coordinate.itemsize
        if at + 2 + size > n:
            raise CasiaFormatError(path, at, f"a stroke of {points} points runs past the end of the file")
        total += points
        if total > MAX_PAGE_POINTS:
            raise CasiaFormatError(path, at, f"more than {MAX_PAGE_POINTS:,} points on the page")
        strokes.append(np.frombuffer(buf, coordinate, points * 2, at + 2).reshape(points, 2))
        at += 2 + size
    return strokes, at


def _online_text(path: str | Path, buf: np.ndarray, uint, at: int, start: int, code_length: int) -> tuple[str, int]:
    """The line's text (its character count and codes at ``at``; errors at the line's ``start``) and the offset
    after it."""
    chars = uint(at, 2)
    codes = bytes(buf[at + 2 : at + 2 + chars * code_length])
    if len(codes) != chars * code_length:
        raise CasiaFormatError(path, start, "the line's codes run past the end of the file")
    text = "".join(_code(path, start, codes[k * code_length : (k + 1) * code_length]) for k in range(chars))
    return text, at + 2 + chars * code_length


def _code(path: str | Path, offset: int, raw: bytes) -> str:
    raw = raw.rstrip(b"\x00")
    try:
        ch = raw.decode("gbk") if raw else ""
    except UnicodeDecodeError:
        raise CasiaFormatError(path, offset, f"code {raw.hex()} is not a GB code") from None
    if ch and (not ch.isprintable() or len(ch) != 1):
        raise CasiaFormatError(path, offset, f"code {raw.hex()} is not a printable character")
    return ch


def write_online_page(path: str | Path, lines: list[tuple[str, Ink]], illustration: bytes = b"hwime") -> Path:
    """A .ptts / .wptt page of these (text, ink) lines in the layout iter_online_page reads (tests, converters);
    int16 points; the format code is the file's suffix ("PTTS", "WPTT")."""
    header = ONLINE_PAGE_FIXED + len(illustration)
    code = Path(path).suffix.lstrip(".").upper().encode("ascii")[:8]
    out = bytearray(header.to_bytes(4, "little") + code.ljust(8, b"\x00") + illustration
                    + b"GB".ljust(20, b"\x00") + (2).to_bytes(2, "little") + b"short".ljust(20, b"\x00"))
    out += (1).to_bytes(4, "little") + (1).to_bytes(4, "little")
    strokes = [s for _, ink in lines for s in ink.strokes]
    out += len(strokes).to_bytes(4, "little")
    for s in strokes:
        out += len(s).to_bytes(2, "little") + np.round(s[:, :2]).astype("<i2").tobytes()
    out += len(lines).to_bytes(2, "little")
    first = 0
    for text, ink in lines:
        k = len(ink.strokes)
        out += k.to_bytes(2, "little") + np.arange(first, first + k, dtype="<u2").tobytes()
        out += len(text).to_bytes(2, "little") + b"".join(encode_tag(c) for c in text)
        first += k
    Path(path).write_bytes(bytes(out))
    return Path(path)
