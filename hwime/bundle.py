"""The model bundle: one file that both ``hwime.training export`` writes and the pad reads, with one set of checks.

A bundle is one file loadable with ``torch.load(weights_only=True)`` (it can never run code) holding:
format, arch, labels, raster (a RasterSpec dict), state_dict, and plain metadata (recipe, data, metrics);
model_options (in_channels, channel_mean, channel_std, fused; absent = one channel);
optionally ``provenance`` (JSON text: where imported weights came from, their files' sha256 and licence);
optionally ``prior_weight`` (λ) and ``context_mix`` (β), chosen on real dev sets when the bundle was made;
optionally ``score_temperature`` (T, `python -m hwime.training tune-temperature`): what a Candidate reports;
optionally the line decoder's weights and ``symbol_floor`` (hwime.ranking, hwime.readers).

The label codec lives here too: which network output is which character, and where a CTC head's blank is.
"""

from __future__ import annotations

import os
import pickle
import stat
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np
import torch

from .files import atomic_write
from .model import build_model, model_options
from .raster import RasterError, RasterSpec

BUNDLE_FORMAT = "hwime-bundle/1"
CTC_BLANK = 0  # the output a CTC head gives to "no character here"
REQUIRED_KEYS = ("format", "arch", "labels", "raster", "state_dict")


class ModelError(RuntimeError):
    """A model bundle that is missing, unreadable or inconsistent; the message names the file."""


class ModelNotFoundError(ModelError):
    pass


@dataclass(frozen=True)
class LabelCodec:
    """Characters <-> network outputs. A CTC head (``blank``) puts its blank at output 0, so class k is output k + 1;
    a classifier's class k is output k. Every reader of logits goes through this, never through a hand-written 1."""

    labels: tuple[str, ...]
    blank: bool = False
    index: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", tuple(self.labels))
        object.__setattr__(self, "index", {c: i for i, c in enumerate(self.labels)})

    def __len__(self) -> int:
        return len(self.labels)

    def __contains__(self, char: object) -> bool:
        return char in self.index

    @property
    def offset(self) -> int:
        """The output of class 0."""
        return CTC_BLANK + 1 if self.blank else 0

    @property
    def outputs(self) -> int:
        """How many outputs the network's head has."""
        return len(self.labels) + self.offset

    def encode(self, text: Iterable[str]) -> list[int]:
        """Characters -> their outputs (CTC targets; KeyError for a character the codec lacks)."""
        return [self.index[c] + self.offset for c in text]

    def decode(self, classes: Iterable[int]) -> str:
        """Class indices (not outputs: the blank already gone) -> the text."""
        return "".join(self.labels[k] for k in classes)

    def class_columns(self, frames: torch.Tensor | np.ndarray):
        """(…, outputs) -> (…, classes): the blank's column dropped."""
        return frames[..., self.offset:]


def read_weights_file(path: str | Path, what: str = "model bundle") -> object:
    """``torch.load(weights_only=True)`` of a file hwime wrote (a bundle or a training checkpoint), with one line
    naming the file for anything else: missing, a folder, not a zip torch wrote, a pickle that would run code (never
    torch's advice to turn weights_only off), a damaged archive."""
    path = Path(path)
    if not path.exists():
        raise ModelNotFoundError(
            f"no {what} at {path}. Reinstall hwime to get the bundled model, choose another file in the "
            f"settings, or train one with `python -m hwime.training` (see training/README.md)")
    if path.is_dir():
        raise ModelError(f"{path}: a folder, not a {what}")
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO would block the open for ever, a device never end
            raise ModelError(f"{path}: not a regular file (a FIFO, device or socket), so not a {what}")
        with open(path, "rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise ModelError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None
    if magic != b"PK\x03\x04":  # torch.save writes a zip archive; anything else is some other kind of file
        raise ModelError(f"{path}: not a {what} (not a file torch.save wrote)")
    check_archive(path, what)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        # torch's own message suggests turning weights_only off, which would let the file run code: never
        raise ModelError(f"{path}: refused: the file holds objects other than tensors and plain data, "
                         f"so it is not a hwime {what}") from None
    except Exception as exc:  # torch raises many kinds for a damaged or foreign file
        reason = str(exc).splitlines()[0][:160] if str(exc) else ""
        raise ModelError(f"{path}: not a readable hwime {what} "
                         f"({type(exc).__name__}{': ' + reason if reason else ''})") from None


def read_bundle(path: str | Path) -> dict:
    path = Path(path)
    bundle = read_weights_file(path)
    check_bundle(bundle, path)
    return bundle


MAX_BUNDLE_ELEMENTS = 100_000_000  # ten times the largest network hwime builds


def check_tensor_sizes(state: dict, path: str | Path) -> None:
    """Every tensor holds the data its shape claims: a stride trick (a one-element tensor expanded to 10^10) would
    pass torch.load as a small file and make the first look at its values allocate gigabytes."""
    total = 0
    for name, v in state.items():
        need = v.numel() * v.element_size()
        if v.numel() and (need > v.untyped_storage().nbytes() or 0 in v.stride()):
            raise ModelError(f"{path}: tensor {str(name)[:60]} of shape {tuple(v.shape)} is a view larger than its "
                             f"data ({v.untyped_storage().nbytes()} bytes): not a model hwime wrote")
        total += v.numel()
        if total > MAX_BUNDLE_ELEMENTS:
            raise ModelError(f"{path}: more than {MAX_BUNDLE_ELEMENTS:,} weights: not a model hwime wrote")


# T beyond these is no calibration: below 0.1 every score is 0 or 1, above 10 the first is barely above the rest
SCORE_TEMPERATURE_RANGE = (0.1, 10.0)


def check_ranking_values(meta: dict, path: str | Path) -> None:
    """The bundle's ranking values (λ, β, the line decoder's, the scores' temperature) are numbers in range (a
    bundle is data, never a program)."""
    # the line decoder's: the language weight, the bonus per character (a log-score), the bigram mix
    for key, low, high in (("prior_weight", 0.0, 5.0), ("context_mix", 0.0, 1.0), ("line_lm_weight", 0.0, 5.0),
                           ("line_bonus", -20.0, 20.0), ("line_mix", 0.0, 1.0), ("line_start_weight", 0.0, 5.0),
                           ("line_name_share", 0.0, 0.95), ("symbol_floor", 0.0, 1.0),
                           ("score_temperature", *SCORE_TEMPERATURE_RANGE)):
        value = meta.get(key, low)
        # NaN fails the range test too (every comparison with NaN is false)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise ModelError(f"{path}: {key} must be a number from {low} to {high}, got {str(value)[:40]!r}")


def check_labels(labels: object, path: str | Path) -> None:
    """Labels are what the pad types: single printable characters, no duplicates (a label is data, never a command)."""
    if not isinstance(labels, (list, tuple)) or not labels:
        raise ModelError(f"{path}: the label list is missing or empty")
    seen = set()
    for i, ch in enumerate(labels):
        if not isinstance(ch, str) or len(ch) != 1 or not ch.isprintable() or ch.isspace():
            raise ModelError(f"{path}: label {i} is {ch!r:.40}, not a single printable character")
        if unicodedata.category(ch) in ("Mn", "Me", "Mc") or ch in _INVISIBLE:
            raise ModelError(f"{path}: label {i} is {ch!r} (U+{ord(ch):04X}), a mark or filler the pad could not show "
                             f"on its own")
        if ch in seen:
            raise ModelError(f"{path}: label {ch!r} appears twice")
        seen.add(ch)


MAX_ARCHIVE_BYTES = 4 * MAX_BUNDLE_ELEMENTS + (64 << 20)  # every weight as fp32, and room for metadata


def check_archive(path: str | Path, what: str = "model bundle") -> None:
    """What torch.save writes: a zip of stored (uncompressed) entries whose sizes add up to at most what the largest
    network hwime builds needs. A re-zipped bundle (1.9 MB declaring 2 GB of weights) is refused before torch
    allocates for what it declares."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ModelError(f"{path}: not a readable hwime {what} ({type(exc).__name__})") from None
    packed = [e.filename for e in entries if e.compress_type != zipfile.ZIP_STORED]
    if packed:
        raise ModelError(f"{path}: compressed entries ({str(packed[0])[:60]}): not a {what} torch.save wrote")
    declared = sum(e.file_size for e in entries)
    if declared > MAX_ARCHIVE_BYTES:
        raise ModelError(f"{path}: declares {declared:,} bytes of data, more than any {what} hwime writes")


# invisible labels a writer could not tell from a blank or from the character before: the pad would type them
_INVISIBLE = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800", "\ufffd", "\u180e"}


def check_state_dtypes(state: dict, expected: dict, path: str | Path, arch: object) -> None:
    """Each tensor of the kind (floating or not) the architecture's own tensor is: integer weights or float step
    counters are not a model hwime wrote."""
    for k, v in expected.items():
        if state[k].is_floating_point() != v.is_floating_point() or state[k].is_complex():
            raise ModelError(f"{path}: weights do not fit arch {str(arch)[:40]!r}: {str(k)[:60]} is {state[k].dtype}, "
                             f"the arch needs {v.dtype}")


@dataclass
class Bundle:
    """A bundle read and checked: its network built with the weights in, its codec, raster spec and metadata."""

    path: Path
    arch: str
    model: torch.nn.Module
    codec: LabelCodec
    spec: RasterSpec
    metadata: dict  # every key but the state_dict


def load_bundle(path: str | Path) -> Bundle:
    """Read, check and build a bundle (ModelError, naming the file, for anything that does not fit)."""
    path = Path(path)
    bundle = read_bundle(path)
    labels = list(bundle["labels"])
    try:
        options = bundle.get("model_options") or {}
        if not isinstance(options, dict):
            raise ValueError(f"model_options must be a table, got {type(options).__name__}")
        model = build_model(bundle["arch"], len(labels), **model_options(options))
    except (ValueError, TypeError) as exc:
        raise ModelError(f"{path}: {exc}") from None
    except AttributeError as exc:  # options of another family (a fused flag on a network that has no fusing)
        raise ModelError(f"{path}: the model options do not fit arch {str(bundle['arch'])[:40]!r} ({exc})") from None
    codec = LabelCodec(labels, blank=bool(getattr(model, "ctc", False)))
    state = bundle["state_dict"]
    heads = [v for k, v in state.items() if k.endswith(".weight") and v.ndim == 2]
    if not heads or heads[-1].shape[0] != codec.outputs:
        got = heads[-1].shape[0] - codec.offset if heads else "no"
        raise ModelError(f"{path}: the label list has {len(labels)} characters but the model's head has {got} outputs")
    expected = model.state_dict()
    for k, v in expected.items():  # shapes first, one line naming the first misfit
        if k not in state:
            raise ModelError(f"{path}: weights do not fit arch {bundle['arch']!r}: {k} is missing")
        if tuple(state[k].shape) != tuple(v.shape):
            raise ModelError(f"{path}: weights do not fit arch {bundle['arch']!r}: {k} has shape "
                             f"{tuple(state[k].shape)}, the arch needs {tuple(v.shape)}")
    extra = [k for k in state if k not in expected]
    if extra:
        raise ModelError(f"{path}: weights do not fit arch {bundle['arch']!r}: {len(extra)} unexpected tensors "
                         f"({str(extra[0])[:60]} …)")
    check_state_dtypes(state, expected, path, bundle["arch"])
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    meta = {k: v for k, v in bundle.items() if k != "state_dict"}
    try:
        spec = RasterSpec.from_dict(bundle["raster"])
    except (RasterError, TypeError) as exc:
        raise ModelError(f"{path}: bad raster spec ({exc})") from None
    height = getattr(model, "input_height", None)
    if height is not None and spec.size != height:
        raise ModelError(f"{path}: raster size {spec.size} does not fit arch {bundle['arch']!r}, which reads "
                         f"rows {height} high")
    return Bundle(path, str(bundle["arch"]), model, codec, spec, meta)


def check_bundle(bundle: dict, path: str | Path) -> None:
    """The checks a bundle passes when it is read, made before one is written: export never writes what load
    refuses."""
    if not isinstance(bundle, dict) or any(k not in bundle for k in REQUIRED_KEYS):
        raise ModelError(f"{path}: not a hwime model bundle (it lacks {', '.join(REQUIRED_KEYS)})")
    if bundle["format"] != BUNDLE_FORMAT:
        raise ModelError(f"{path}: bundle format {str(bundle['format'])[:40]!r} is not {BUNDLE_FORMAT!r}")
    check_labels(bundle["labels"], path)
    if not isinstance(bundle["state_dict"], dict) or not all(isinstance(v, torch.Tensor) for v in bundle["state_dict"].values()):
        raise ModelError(f"{path}: the state_dict is not a table of tensors")
    check_tensor_sizes(bundle["state_dict"], path)
    bad = [k for k, v in bundle["state_dict"].items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise ModelError(f"{path}: weights hold NaN or infinite values ({bad[0]})")
    check_ranking_values(bundle, path)


def write_bundle(path: str | Path, bundle: dict) -> Path:
    """Check ``bundle`` as a reader would, then write it atomically (torch.save: a zip of stored entries)."""
    check_bundle(bundle, path)
    return atomic_write(path, lambda fh: torch.save(bundle, fh))
