"""What the pad learned from its writer: labelled samples (ink or image) kept privately on this machine.

Every pick of a recognized candidate is a labelled example. The store keeps the samples themselves — never model
features — so a new model bundle re-embeds them and adapts as well as the old one did.

The store (``profile.json`` in a profile folder; the pad uses platformdirs' user data folder) is versioned JSON::

    {"format": "hwime-profile/1",
     "samples": [{"id": 7, "char": "中", "time": 1764150000.0, "ink": {"strokes": [...]}},
                 {"id": 8, "char": "国", "time": 1764150009.5, "image": "<base64 PNG, 8-bit gray>"}, ...]}

bounded to the newest ``per_class`` samples of a character and ``total`` in all, and written atomically
(a fresh temporary file in the same folder, then a rename). A store that cannot be read is kept aside as
``profile.json.bak`` and learning starts afresh, with a warning; nothing else is lost.

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
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .files import atomic_write_text
from .ink import Ink

PROFILE_FORMAT = "hwime-profile/1"
PROFILE_FILE = "profile.json"
PER_CLASS = 8
TOTAL = 4000


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
        if "ink" in obj:
            return cls(int(obj["id"]), char, float(obj["time"]), ink=Ink.from_json(obj["ink"]))
        from PIL import Image

        with Image.open(io.BytesIO(base64.b64decode(obj["image"], validate=True))) as im:
            image = np.asarray(im.convert("L"))
        return cls(int(obj["id"]), char, float(obj["time"]), image=image)


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
            raw = path.read_bytes()
        except FileNotFoundError:
            return
        except OSError as exc:
            self.warnings.append(f"Could not read what the pad learned ({path}: {exc.strerror or exc}); what it learns "
                                 "now is kept for this session only, and the file is left alone.")
            self.directory = None  # never overwrite what could not be read
            return
        try:
            data = json.loads(raw.decode("utf-8"))
            if not isinstance(data, dict) or data.get("format") != PROFILE_FORMAT:
                raise ValueError(f"format is not {PROFILE_FORMAT}")
            samples = [Sample.from_json(s) for s in data["samples"]]
        except Exception as exc:  # whatever is wrong with the store (bad JSON, a bad image), the pad starts anyway
            backup = path.with_name(path.name + ".bak")
            try:
                os.replace(path, backup)
                kept = f"kept it as {backup.name}"
            except OSError:
                self.directory = None
                kept = "left it in place"
            self.warnings.append(f"What the pad learned ({path}) could not be read ({str(exc)[:100]}); {kept} "
                                 "and started afresh.")
            return
        self.samples = samples
        self._next_id = max((s.id for s in samples), default=0) + 1

    def save(self) -> None:
        if not self.directory:
            return
        data = {"format": PROFILE_FORMAT, "samples": [s.to_json() for s in self.samples]}
        atomic_write_text(self.path, json.dumps(data, ensure_ascii=False, separators=(",", ":")))

    def add(self, char: str, ink: Ink | None = None, image: np.ndarray | None = None,
            save: bool = True) -> tuple[Sample, list[Sample]]:
        """Keep one labelled sample (ink or image); returns it and the oldest samples the caps dropped for it."""
        if (ink is None) == (image is None):
            raise ProfileError("a sample is ink or an image")
        if ink is not None and ink.is_empty:
            raise ProfileError("empty ink teaches nothing")
        sample = Sample(self._next_id, char, time.time(), ink=ink, image=image)
        self._next_id += 1
        self.samples.append(sample)
        same = [s for s in self.samples if s.char == char]
        drop = {s.id for s in same[: max(0, len(same) - self.per_class)]}
        kept = [s for s in self.samples if s.id not in drop]
        kept = kept[max(0, len(kept) - self.total):]
        ids = {s.id for s in kept}
        dropped = [s for s in self.samples if s.id not in ids]
        self.samples = kept
        if save:
            self.save()
        return sample, dropped

    def remove(self, sample_id: int, save: bool = True) -> Sample | None:
        found = next((s for s in self.samples if s.id == sample_id), None)
        if found:
            self.samples.remove(found)
            if save:
                self.save()
        return found

    def forget(self) -> None:
        """Delete everything learned, on disk too."""
        self.samples = []
        if self.path and self.path.exists():
            self.path.unlink()


class Prototypes:
    """Per character, the running sum of normalized features of its samples; ``bonus`` scores a query."""

    def __init__(self, num_classes: int, dim: int, strength: float, floor: float, power: float = 1.0):
        self.sums = np.zeros((num_classes, dim), np.float32)
        self.counts = np.zeros(num_classes, np.int32)
        self.strength, self.floor, self.power = strength, floor, power
        self._matrix: np.ndarray | None = None

    def add(self, cls: int, feature: np.ndarray, sign: int = 1) -> None:
        self.sums[cls] += sign * _unit(feature)
        self.counts[cls] += sign
        self._matrix = None

    def __len__(self) -> int:
        return int((self.counts > 0).sum())

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
