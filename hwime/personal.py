"""What the pad learned from its writer: labelled samples (ink or image) kept privately on this machine.

Every pick of a recognized candidate is a labelled example. The store keeps the samples themselves — never model
features — so a new model bundle re-embeds them and adapts as well as the old one did.

The store (``profile.json`` in a profile folder; the pad uses platformdirs' user data folder) is versioned JSON::

    {"format": "hwime-profile/1",
     "samples": [{"id": 7, "char": "中", "time": 1764150000.0, "ink": {"strokes": [...]}},
                 {"id": 8, "char": "国", "time": 1764150009.5, "image": "<base64 PNG, 8-bit gray>"}, ...]}

bounded to the newest ``per_class`` samples of a character and ``total`` in all, and written atomically
(a fresh temporary file in the same folder, then a rename). The pad and `hwime recognize --profile` may learn into
one store at once: each save takes a lock (``profile.json.lock``), reads what is on disk and merges this process's
additions and removals into it, so no sample learned by either is lost. A store that cannot be read at all is set
aside (``profile.json.bak``, ``.bak.1`` … — never over an earlier backup) and learning starts afresh; a sample that
cannot be read is left out of recognition and written back untouched (all of them reported in one line). A store
found damaged at a save, after it was read, is set aside and what this process holds is written in its place: the
samples in memory are never dropped for a file someone else broke. The caps apply while reading: a store of 20,000
samples (no version of the pad writes one) is read as its newest 4,000, 8 a character, before any ink is parsed.
A store in a folder that cannot be written learns in memory for the session, with a warning.

``Prototypes`` turn samples into what ranking uses: per character, the mean of the model's penultimate features
over the user's samples (each L2-normalized). The Recognizer adds, for a character the user has written,
``strength · (max(0, cos(query, prototype) − floor) / (1 − floor))^power`` to its log-score (the power keeps
near matches strong and loose resemblances weak); characters the user never
wrote are untouched, so with nothing learned the ranking is exactly the model's.
"""

from __future__ import annotations

import base64
import io
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .files import atomic_write_text, read_regular, set_aside
from .ink import Ink, InkError

PROFILE_FORMAT = "hwime-profile/1"
PROFILE_FILE = "profile.json"
PER_CLASS = 8
# a label among the network's first this many readings of its sample is plausible: trusted from the first sample
# (measured: training/reports/hwime-all/notes.md, "Learning the writer")
PLAUSIBLE_RANK = 3
TOTAL = 4000
MAX_STORE_BYTES = 64 << 20  # 4,000 simplified inks take a few MB; a larger store is not one the pad wrote
MAX_SAMPLE_PIXELS = 1 << 20  # a stored image is one character: at most a megapixel
MAX_SAMPLE_NOTES = 5  # unreadable samples named one line each; more are summed up in one line
STORED_INK_TOLERANCE = 0.005  # ink is simplified to this share of its size before it is stored


class ProfileError(ValueError):
    """A sample that cannot be learned (no ink, an unknown character…)."""


@dataclass
class Sample:
    id: int
    char: str
    time: float
    ink: Ink | None = None
    image: np.ndarray | None = None  # uint8 grayscale, 255 = paper

    def to_json(self) -> dict:
        out: dict = {"id": self.id, "char": self.char, "time": round(self.time, 3)}
        if self.ink is not None:
            out["ink"] = self.ink.to_json()
        else:
            from PIL import Image

            buf = io.BytesIO()
            Image.fromarray(self.image).save(buf, format="PNG")
            out["image"] = base64.b64encode(buf.getvalue()).decode("ascii")
        return out

    @classmethod
    def from_json(cls, obj: dict) -> "Sample":
        char = obj["char"]
        if not isinstance(char, str) or len(char) != 1 or not char.isprintable():
            raise ValueError(f"bad character {char!r:.20}")
        sample_id, when = obj["id"], obj["time"]
        # JSON admits Infinity, NaN and 400-digit numbers: an id is an integer, a time a finite number of seconds
        if isinstance(sample_id, bool) or not isinstance(sample_id, int) or abs(sample_id) >= 2**63:
            raise ValueError(f"bad id {str(sample_id)[:20]}")
        if isinstance(when, bool) or not isinstance(when, (int, float)) or \
                not (isinstance(when, float) or abs(when) < 2**63) or not math.isfinite(float(when)):
            raise ValueError(f"bad time {str(when)[:20]}")
        if "ink" in obj:
            return cls(sample_id, char, float(when), ink=Ink.from_json(obj["ink"]))
        from PIL import Image

        data = io.BytesIO(base64.b64decode(obj["image"], validate=True))
        with Image.open(data, formats=["PNG"]) as im:  # a PNG the pad wrote, nothing else is decoded
            if im.width * im.height > MAX_SAMPLE_PIXELS:
                raise ValueError(f"image of {im.width}x{im.height} pixels, more than a character's")
            image = np.asarray(im.convert("L"))
        return cls(sample_id, char, float(when), image=image)


def default_profile_dir() -> Path:
    from platformdirs import user_data_path

    return user_data_path("hwime", appauthor=False) / "profile"


class Profile:
    """The writer's labelled samples, newest last; ``directory=None`` keeps them in memory only."""

    def __init__(self, directory: str | Path | None = None, per_class: int = PER_CLASS, total: int = TOTAL):
        self.directory = Path(directory) if directory else None
        self.per_class, self.total = per_class, total
        self.samples: list[Sample] = []
        self.warnings: list[str] = []
        self._next_id = 1
        self._added: list[Sample] = []  # since the last save: what the merge adds to the store on disk
        self._removed: set[int] = set()  # since the last save: ids the merge takes out of it
        self._unreadable: list[dict] = []  # entries of the store that could not be read: written back untouched
        if self.directory:
            self._read()

    @property
    def path(self) -> Path | None:
        return self.directory / PROFILE_FILE if self.directory else None

    def __len__(self) -> int:
        return len(self.samples)

    def _read(self) -> None:
        path = self.path
        try:
            samples, unreadable, notes = self._load_store(path)
        except FileNotFoundError:
            return
        except OSError as exc:
            self.warnings.append(f"Could not read what the pad learned ({exc}); what it learns now is kept for this "
                                 "session only, and the file is left alone.")
            self.directory = None  # never overwrite what could not be read
            return
        except ValueError as exc:  # not a store at all (bad JSON, another format): set aside, start afresh
            try:
                kept = f"kept it as {set_aside(path).name}"
            except OSError:
                self.directory = None
                kept = "left it in place"
            self.warnings.append(f"What the pad learned ({path}) could not be read ({str(exc)[:100]}); {kept} "
                                 "and started afresh.")
            return
        self.samples, self._unreadable = samples, unreadable
        self.warnings += notes
        self._next_id = max((s.id for s in samples), default=0) + 1

    def _load_store(self, path: Path) -> tuple[list[Sample], list[dict], list[str]]:
        """(samples, raw entries that could not be read, notes for the user). OSError: the file cannot be read (or is
        no regular file, or too large); ValueError: it is not a profile store. Only the entries the caps keep
        (the newest ``per_class`` of a character, ``total`` in all) are parsed: the rest would be dropped at the
        next save anyway, and parsing and embedding 20,000 of them took minutes and gigabytes."""
        raw = read_regular(path, MAX_STORE_BYTES)
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, RecursionError) as exc:
            raise ValueError(str(exc)) from None
        if not isinstance(data, dict) or data.get("format") != PROFILE_FORMAT or not isinstance(data.get("samples"), list):
            raise ValueError(f"format is not {PROFILE_FORMAT}")
        entries = data["samples"]

        def when(entry: object) -> tuple[float, int] | None:
            """(time, id) of an entry whose label, id and time look right; None for one Sample.from_json refuses."""
            if not isinstance(entry, dict):
                return None
            char, sample_id, t = entry.get("char"), entry.get("id"), entry.get("time")
            if not (isinstance(char, str) and len(char) == 1 and isinstance(sample_id, int)
                    and not isinstance(sample_id, bool) and isinstance(t, (int, float)) and not isinstance(t, bool)):
                return None
            try:
                return float(t), sample_id
            except OverflowError:
                return None

        stamps = [when(e) for e in entries]
        ordered = sorted((i for i, k in enumerate(stamps) if k is not None), key=lambda i: stamps[i])
        counts: dict[str, int] = {}
        chosen: set[int] = set()
        for i in reversed(ordered):  # newest first, as _capped keeps them
            char = entries[i]["char"]
            counts[char] = counts.get(char, 0) + 1
            if counts[char] <= self.per_class and len(chosen) < self.total:
                chosen.add(i)
        samples, unreadable, notes, failures = [], [], [], []
        for n, entry in enumerate(entries, start=1):
            if stamps[n - 1] is not None and n - 1 not in chosen:
                continue  # beyond the caps
            try:
                if not isinstance(entry, dict):
                    raise ValueError("not an object")
                samples.append(Sample.from_json(entry))
            except (KeyError, TypeError, ValueError, InkError, OSError, MemoryError, SyntaxError) as exc:
                unreadable.append(entry)
                failures.append((n, f"{type(exc).__name__}: {str(exc)[:80]}"))
        samples.sort(key=lambda s: (s.time, s.id))
        over = len(ordered) - len(chosen)
        if over:
            notes.append(f"{path.name} holds {len(ordered):,} learned samples; the newest {len(chosen):,} are used "
                         f"(at most {self.per_class} a character, {self.total:,} in all) and the other {over:,} are "
                         "dropped at the next save.")
        if len(failures) <= MAX_SAMPLE_NOTES:
            notes += [f"Learned sample {n} in {path.name} could not be read ({why}); it is left out and kept in the "
                      "file as it is." for n, why in failures]
        else:  # one line, however many: 200,000 unreadable entries once printed 200,001 lines
            n, why = failures[0]
            notes.append(f"{len(failures):,} learned samples in {path.name} could not be read (sample {n}: {why}, "
                         f"and {len(failures) - 1:,} more); they are left out and kept in the file as they are.")
        return samples, unreadable, notes

    def _lock(self):
        from filelock import FileLock

        return FileLock(str(self.path) + ".lock", timeout=30)

    def save(self) -> None:
        """Merge this process's changes into the store on disk, under its lock; a folder that cannot be written
        keeps the samples in memory for the session (a warning says so)."""
        if not self.directory:
            return
        try:
            with self._lock():
                self._merge_from_disk()
                data = {"format": PROFILE_FORMAT,
                        "samples": [s.to_json() for s in self.samples] + list(self._unreadable)}
                atomic_write_text(self.path, json.dumps(data, ensure_ascii=False, separators=(",", ":")))
                self._added.clear()
                self._removed.clear()
        except OSError as exc:  # a read-only folder or disk, a lock held too long
            self.warnings.append(f"Could not save what the pad learned ({exc.strerror or exc}); it is kept for this "
                                 "session only.")
            self.directory = None

    def _merge_from_disk(self) -> None:
        """What is on disk now, less what this process removed, plus what it added (the caps applied again)."""
        try:
            disk, unreadable, _ = self._load_store(self.path)
        except FileNotFoundError:
            disk, unreadable = [], []
        except ValueError as exc:
            # damaged since it was read (another program, a disk error): set aside, never overwritten, and what this
            # process holds is written in its place; starting from the empty file lost every sample in memory
            kept = set_aside(self.path)
            self.warnings.append(f"What the pad learned ({self.path}) was damaged on disk ({str(exc)[:100]}); kept it "
                                 f"as {kept.name} and saved the {len(self.samples)} samples this session holds.")
            disk, unreadable = list(self.samples), list(self._unreadable)
        ids = {s.id for s in disk}
        merged = [s for s in disk if s.id not in self._removed] + [s for s in self._added if s.id not in ids]
        merged.sort(key=lambda s: (s.time, s.id))
        self.samples = self._capped(merged)
        self._unreadable = unreadable

    def _capped(self, samples: list[Sample]) -> list[Sample]:
        """The newest ``per_class`` of each character and ``total`` in all, oldest first."""
        counts: dict[str, int] = {}
        kept = []
        for s in reversed(samples):
            counts[s.char] = counts.get(s.char, 0) + 1
            if counts[s.char] <= self.per_class and len(kept) < self.total:
                kept.append(s)
        return kept[::-1]

    def _new_id(self) -> int:
        """Unique across processes sharing the store: milliseconds and a random part, never below the last id."""
        self._next_id = max(self._next_id, int(time.time() * 1000) * 1000 + int.from_bytes(os.urandom(2), "big") % 1000)
        self._next_id += 1
        return self._next_id - 1

    def add(self, char: str, ink: Ink | None = None, image: np.ndarray | None = None,
            save: bool = True) -> tuple[Sample, list[Sample]]:
        """Keep one labelled sample (ink or image); returns it and the oldest samples the caps dropped for it."""
        if (ink is None) == (image is None):
            raise ProfileError("a sample is ink or an image")
        if ink is not None and ink.is_empty:
            raise ProfileError("empty ink teaches nothing")
        if image is not None and image.size > MAX_SAMPLE_PIXELS:
            raise ProfileError(f"an image of {image.shape[1]}x{image.shape[0]} pixels is more than one character")
        if ink is not None:  # a pen at 1 kHz stores thousands of points a glyph does not need
            x0, y0, x1, y1 = ink.bbox()
            ink = ink.simplify(STORED_INK_TOLERANCE * max(x1 - x0, y1 - y0, 1e-6))
        sample = Sample(self._new_id(), char, time.time(), ink=ink, image=image)
        self.samples.append(sample)
        self._added.append(sample)
        kept = self._capped(self.samples)
        ids = {s.id for s in kept}
        dropped = [s for s in self.samples if s.id not in ids]
        self.samples = kept
        self._removed.update(s.id for s in dropped)
        if save:
            self.save()
        return sample, dropped

    def remove(self, sample_id: int, save: bool = True) -> Sample | None:
        found = next((s for s in self.samples if s.id == sample_id), None)
        if found:
            self.samples.remove(found)
            self._removed.add(found.id)
            self._added = [s for s in self._added if s.id != found.id]
            if save:
                self.save()
        return found

    def learned(self) -> dict[str, int]:
        """Each character learned and how many of its samples are kept, the most recently taught first."""
        counts: dict[str, int] = {}
        for s in reversed(self.samples):
            counts[s.char] = counts.get(s.char, 0) + 1
        return counts

    def forget_char(self, char: str, save: bool = True) -> list[Sample]:
        """Delete every sample of ``char`` (one mistaken pick need not cost the writer everything else they
        taught); returns the samples removed."""
        removed = [s for s in self.samples if s.char == char]
        if removed:
            ids = {s.id for s in removed}
            self.samples = [s for s in self.samples if s.id not in ids]
            self._removed.update(ids)
            self._added = [s for s in self._added if s.id not in ids]
            if save:
                self.save()
        return removed

    def forget(self) -> None:
        """Delete everything learned, on disk too."""
        self.samples, self._added, self._removed, self._unreadable = [], [], set(), []
        if self.path and self.path.exists():
            with self._lock():
                self.path.unlink()


class Prototypes:
    """Per character, the running sum of normalized features of its samples; ``bonus`` scores a query."""

    def __init__(self, num_classes: int, dim: int, strength: float, floor: float, power: float = 1.0):
        self.sums = np.zeros((num_classes, dim), np.float32)
        self.counts = np.zeros(num_classes, np.int32)
        self.plausible = np.zeros(num_classes, np.int32)  # samples the network itself read as that class (see add)
        self.strength, self.floor, self.power = strength, floor, power
        self._matrix: np.ndarray | None = None

    def add(self, cls: int, feature: np.ndarray, sign: int = 1, plausible: bool = True) -> None:
        """Add (``sign`` 1) or take back (-1) one sample's features; ``plausible``: the network itself read the
        sample as ``cls`` among its first readings (PLAUSIBLE_RANK), so the label is no slip of the key."""
        self.sums[cls] += sign * _unit(feature)
        self.counts[cls] += sign
        self.plausible[cls] += sign * int(plausible)
        self._matrix = None

    def __len__(self) -> int:
        return int((self.counts > 0).sum())

    def doubtful(self) -> np.ndarray:
        """(classes,) bool: the characters taught by one sample alone that the network did not read as that
        character (key 0 pressed by accident: 一 for a drawing of 日); the ranking doubts their bonus
        (hwime.ranking.doubted_bonus). A second sample, or one the network found plausible, is trusted."""
        return (self.counts == 1) & (self.plausible == 0)

    def clear(self, cls: int) -> None:
        """Nothing learned of ``cls`` any more (exactly zero: no rounding left over from subtracting samples)."""
        self.sums[cls] = 0
        self.counts[cls] = 0
        self.plausible[cls] = 0
        self._matrix = None

    def bonus(self, features: np.ndarray) -> np.ndarray:
        """(N, D) query features -> (N, classes) additions to the log-scores; zero for classes never written."""
        learned = np.flatnonzero(self.counts > 0)
        out = np.zeros((len(features), len(self.counts)), np.float32)
        if len(learned) == 0:
            return out
        if self._matrix is None:
            self._matrix = np.stack([_unit(self.sums[c]) for c in learned])
        sims = _unit(features) @ self._matrix.T
        out[:, learned] = self.strength * np.clip((sims - self.floor) / (1 - self.floor), 0, None) ** self.power
        return out


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-6)
