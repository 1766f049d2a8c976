"""Recognizer: a model bundle on cpu or cuda that turns glyph images or ink into ranked Candidates.

A bundle is one file loadable with ``torch.load(weights_only=True)`` (it can never run code) holding:
format, arch, labels, raster (a RasterSpec dict), state_dict, and plain metadata (recipe, data, metrics);
model_options (in_channels, channel_mean, channel_std, fused; absent = one channel);
optionally ``provenance`` (JSON text: where imported weights came from, their files' sha256 and licence);
optionally ``prior_weight`` (λ) and ``context_mix`` (β), chosen on real dev sets when the bundle was made;
optionally ``score_temperature`` (T, `python -m hwime.training tune-temperature`): what a Candidate reports.

A CTC line recognizer (PP-OCRv6: per-frame logits, blank first) reads a lone character as a short line: each
class's probability is its best frame's, renormalized over the classes (hwime.decode reads whole lines).

Ranking happens here and only here (the pad, `hwime recognize` and `evaluate` all call ``scores``):
    score(c) = log p_model(c | image) + λ · log p_usage(c | context) + personal(c | image)
where p_usage is the language table's usage prior, mixed with the bigram after the last character written
(β) when a context is given (hwime.language), and personal is the bonus of the writer's own samples of c
(hwime.personal; zero for characters they never taught). The order is by that score; a Candidate reports
softmax(score / T) (``calibrated``), which keeps the order and makes a 0.9 right about 9 times in 10 on the dev sets
(the model alone: softmax(logits / T)). Without T (1) it is the plain renormalized score.

A label that is no Han character (digits, Latin, punctuation; in *both* also kana and symbols) is offered only where
its score is at least ``symbol_floor`` (bundle key, default SYMBOL_FLOOR) of the first candidate's: a 9 or a 。 that
the shape (and, for 。, the context) makes likely stays, the faint 。 or g among a complex character's runners-up
makes room for the next character.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np
import torch

from .bundled import DEFAULT_MODEL, asset_path
from .ink import Ink
from .model import build_model, model_options
from .raster import (RasterError, RasterSpec, gray_image, has_ink, ink_to_image, line_pieces_on_paper, normalize,
                     prepare_image, prepare_written_line)
from .script import Folding, check_script, convert, default_script, forms

BUNDLE_FORMAT = "hwime-bundle/1"
REQUIRED_KEYS = ("format", "arch", "labels", "raster", "state_dict")


class ModelError(RuntimeError):
    """A model bundle that is missing, unreadable or inconsistent; the message names the file."""


class ModelNotFoundError(ModelError):
    pass


class RecognitionError(RuntimeError):
    """The model gave no usable answer (e.g. NaN scores) for a sample."""


@dataclass(frozen=True)
class Candidate:
    char: str
    score: float  # calibrated probability, 0..1: softmax(score / T), see ``Recognizer.calibrated``


@dataclass(frozen=True)
class LineCandidate:
    text: str
    score: float  # share among the n-best strings, 0..1; a line's candidates come highest first
    # per position of text: that position's alternatives (Candidate, highest score first; the text's own first
    # unless the language side chose it over a character its shape reads as more likely)
    chars: tuple
    spans: tuple = ()  # per position: its first and last CTC frame (line_ink_parts cuts the ink with them)

    @property
    def char(self) -> str:  # the candidate bar shows choices by ``char``
        return self.text


# the line decoder's language side (hwime.decode): weight of log p(c | previous), a bonus per character, and the
# bigram's share against the usage prior; a bundle may carry its own (line_lm_weight, line_bonus, line_mix)
LINE_LM_WEIGHT, LINE_BONUS, LINE_MIX = 0.3, 1.0, 0.5
# A line of at most NAME_MAX_CHARS with nothing written before it may be a name (forms, addresses, signatures: what
# people write in lines most), with probability line_name_share: its first character gains
# line_start_weight · Language.name_start_log_ratio (a bundle may carry its own of both).
NAME_MAX_CHARS, LINE_NAME_SHARE, LINE_START_WEIGHT = 4, 0.3, 0.5


class LineWeights(NamedTuple):
    """The line decoder's language side: weight of the bigram, bonus per character, weight of a name's start and
    how likely a short line with nothing before it is to be a name."""
    lm: float
    bonus: float
    start: float
    name_share: float


class LineReading(NamedTuple):
    """What a line shows before any language (Recognizer.read_line): the frames' log-probabilities (frames,
    classes + 1, blank first), and where the image was cut, each character's (class, probability) alternatives read
    alone and the frame spans it was cut at (else None and ())."""
    log_probs: np.ndarray
    pieces: list | None
    spans: tuple


def line_shares(scores: Sequence[float]) -> np.ndarray:
    """Each of a line's strings' share (0..1, summing to 1) from their log-scores, the decoder's best first. None
    scores above the best: the best was chosen with the language side, which a string with one character read
    otherwise is not scored with (its frames alone may read it higher), so the reading stays the decoder's."""
    scores = np.array(scores, dtype=np.float64)
    scores[1:] = np.minimum(scores[1:], scores[0])
    shares = np.exp(scores - scores.max())
    return shares / shares.sum()


def sorted_line_candidates(found: list[LineCandidate]) -> list[LineCandidate]:
    """Highest score first, for the strings and for each position's alternatives; stable, so ties keep the
    decoder's order (its best string first, a position's own character first)."""
    import dataclasses

    def by_score(cands):
        return sorted(cands, key=lambda c: -c.score)

    return [dataclasses.replace(c, chars=tuple(tuple(by_score(alts)) for alts in c.chars)) for c in by_score(found)]


def pick_device(device: str = "auto") -> tuple[torch.device, str | None]:
    """(device, a note when the wish could not be met)."""
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, not {device!r}")
    if device == "cpu":
        return torch.device("cpu"), None
    if torch.cuda.is_available():
        return torch.device("cuda"), None
    return torch.device("cpu"), "CUDA is not available here; running on the CPU" if device == "cuda" else None


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
        with open(path, "rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise ModelError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None
    if magic != b"PK\x03\x04":  # torch.save writes a zip archive; anything else is some other kind of file
        raise ModelError(f"{path}: not a {what} (not a file torch.save wrote)")
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
        if ch in seen:
            raise ModelError(f"{path}: label {ch!r} appears twice")
        seen.add(ch)


ENGINES = ("auto", "onnx", "torch")


def check_engine(engine: str | None) -> str:
    """The CPU runtime asked for (``engine``, else HWIME_ENGINE, else auto); ValueError for another."""
    import os

    value = engine if engine is not None else (os.environ.get("HWIME_ENGINE") or "auto")
    if value not in ENGINES:
        raise ValueError(f"engine must be auto, onnx or torch, not {value!r}")
    return value


DEFAULT_CONTEXT_MIX = 0.3
SYMBOL_FLOOR = 0.01  # a symbol's least score, as a share of the first candidate's, to be offered (measured: README)
PERSONAL_STRENGTH = 5.0  # log-score added at a perfect match with the writer's own samples (measured: README)
PERSONAL_FLOOR = 0.5  # cosine similarity below which the writer's samples say nothing
PERSONAL_POWER = 1.0


class Recognizer:
    def __init__(self, model: torch.nn.Module, labels: Sequence[str], spec: RasterSpec, device: torch.device,
                 path: Path | None = None, metadata: dict | None = None, script: str | None = None,
                 engine: str | None = None):
        self.model = model.eval().to(device)
        self.ctc = bool(getattr(model, "ctc", False))  # per-frame logits with the blank first (hwime.ppocrv6)
        self.notes: list[str] = []
        # a CTC recognizer on the CPU runs under onnxruntime (hwime.onnx_engine: the bundle's export, cached), else
        # torch's frozen, traced network (hwime.ppocrv6.frozen_for_cpu); ``engine`` (or HWIME_ENGINE): auto | onnx |
        # torch — torch is the reference the tests compare with
        self.engine = check_engine(engine)
        self._fast = None
        self._onnx = None
        if self.ctc and device.type == "cpu" and getattr(model, "fused", False):
            if self.engine != "torch" and path is not None and Path(path).is_file():
                from .onnx_engine import load_engine
                from .ppocrv6 import INPUT_HEIGHT

                self._onnx = load_engine(path, self.model, INPUT_HEIGHT, spec.input_width, self.notes)
            if self._onnx is None:
                from .ppocrv6 import frozen_for_cpu

                self._fast = frozen_for_cpu(self.model, spec.input_width)
        self.labels = list(labels)
        self.spec = spec
        self.device = device
        self.path = path
        self.metadata = metadata or {}
        self.prior_weight = float(self.metadata.get("prior_weight", 0.0))  # λ; 0 = the model alone
        self.context_mix = float(self.metadata.get("context_mix", DEFAULT_CONTEXT_MIX))  # β
        self.score_temperature = float(self.metadata.get("score_temperature", 1.0))  # T; 1 = the scores as ranked
        self.symbol_floor = float(self.metadata.get("symbol_floor", SYMBOL_FLOOR))
        from .script import is_han

        self._symbols = torch.tensor([not is_han(ch) for ch in self.labels])  # digits, Latin, punctuation, kana, …
        self.use_prior = True  # the pad's setting and the API's switch
        # the writer's script (hwime.script): which labels are answered and into what a candidate is folded
        self.script = check_script(script) if script is not None else default_script()
        self._foldings: dict[tuple[str, bool], Folding] = {}
        self._log_priors: dict[str, np.ndarray] = {}
        self._keys: dict[str, list[str]] = {}
        self.profile = None  # hwime.personal.Profile: what was learned from this writer
        self._prototypes = None
        self._index = {c: i for i, c in enumerate(self.labels)}
        # the last layer's input is the penultimate feature vector the writer's prototypes are made of; the hook
        # keeps it on the layer, once per model, however many Recognizers share the model
        self._head = [m for m in self.model.modules() if isinstance(m, torch.nn.Linear)][-1]
        if not hasattr(self._head, "hwime_features"):
            self._head.hwime_features = None
            self._head.register_forward_pre_hook(lambda module, args: setattr(module, "hwime_features", args[0]))

    @property
    def engine_name(self) -> str:
        """The runtime the network runs under: onnxruntime or torch."""
        return "onnxruntime" if self._onnx is not None else "torch"

    @classmethod
    def load(cls, path: str | Path | None = None, device: str = "auto", profile=None,
             script: str | None = None, engine: str | None = None) -> "Recognizer":
        """Load a bundle (the bundled model when path is None) on device auto/cpu/cuda; ``profile`` (a
        hwime.personal.Profile, or a folder for one) adds what was learned from the writer; ``script``
        (simplified, traditional, both; default from the locale, hwime.script) is the writer's; ``engine`` the CPU
        runtime (auto: onnxruntime where it works, else torch; default HWIME_ENGINE or auto)."""
        if script is not None:
            check_script(script)
        check_engine(engine)
        path = Path(path) if path else asset_path(DEFAULT_MODEL)
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
        state = bundle["state_dict"]
        heads = [v for k, v in state.items() if k.endswith(".weight") and v.ndim == 2]
        blank = 1 if getattr(model, "ctc", False) else 0
        if not heads or heads[-1].shape[0] != len(labels) + blank:
            got = heads[-1].shape[0] - blank if heads else "no"
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
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
        dev, note = pick_device(device)
        meta = {k: v for k, v in bundle.items() if k != "state_dict"}
        try:
            spec = RasterSpec.from_dict(bundle["raster"])
        except (RasterError, TypeError) as exc:
            raise ModelError(f"{path}: bad raster spec ({exc})") from None
        check_ranking_values(meta, path)
        height = getattr(model, "input_height", None)
        if height is not None and spec.size != height:
            raise ModelError(f"{path}: raster size {spec.size} does not fit arch {bundle['arch']!r}, which reads "
                             f"rows {height} high")
        rec = cls(model, labels, spec, dev, path, meta, script, engine)
        try:  # one blank input through the network: a bundle whose parts disagree fails here, not at every input
            rec.forward(np.full((1, spec.size, spec.input_width), 255, np.uint8))
        except Exception as exc:
            raise ModelError(f"{path}: the network cannot read its own input ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0][:120] if str(exc) else ''})") from None
        if note:
            rec.notes.append(note)
        if profile is not None:
            rec.attach_profile(profile)
        return rec

    # --- what the writer taught (hwime.personal) -------------------------------------------------------------------
    def attach_profile(self, profile) -> None:
        """Use (and from now on update) a profile: its samples are embedded with this model."""
        from .personal import Profile

        if not isinstance(profile, Profile):
            profile = Profile(profile)
        self.profile = profile  # its warnings (a damaged store set aside) are the caller's to show
        self._prototypes = None
        usable = [s for s in profile.samples if s.char in self._index]
        if len(usable) < len(profile.samples):
            self.notes.append(f"{len(profile.samples) - len(usable)} learned samples are of characters this model lacks")
        images, kept = [], []
        for s in usable:
            try:
                images.append(self._sample_image(s.ink, s.image))
                kept.append(s)
            except (RasterError, ValueError):  # one odd stored sample must not cost the writer the rest
                self.notes.append(f"learned sample {s.id} ({s.char}) could not be drawn and is left out")
        for start in range(0, len(kept), 256):
            feats = self._embed(images[start : start + 256])
            for s, f in zip(kept[start : start + 256], feats):
                self._ensure_prototypes(f.shape[-1]).add(self._index[s.char], f)

    def _ensure_prototypes(self, dim: int):
        from .personal import Prototypes

        if self._prototypes is None:
            self._prototypes = Prototypes(len(self.labels), dim, PERSONAL_STRENGTH, PERSONAL_FLOOR, PERSONAL_POWER)
        return self._prototypes

    def _sample_image(self, ink: Ink | None, image: np.ndarray | None) -> np.ndarray:
        return ink_to_image(ink, self.spec) if ink is not None else prepare_image(image, self.spec)

    def _embed(self, prepared: list[np.ndarray]) -> np.ndarray:
        self.forward(np.stack(prepared))
        return self._last_features

    def learn(self, sample: Ink | np.ndarray, char: str) -> int:
        """Teach that ``sample`` (ink, or a grayscale image) is ``char``; acts from the next recognition.
        Returns the stored sample's id (for ``forget_sample``). Without a profile, an in-memory one is made."""
        from .personal import Profile, ProfileError

        if char not in self._index:
            raise ProfileError(f"{char!r} is not among this model's {len(self.labels)} characters")
        if self.profile is None:
            self.attach_profile(Profile(None))
        is_ink = isinstance(sample, Ink)
        prepared = self._sample_image(sample if is_ink else None, None if is_ink else sample)
        if not has_ink(prepared):
            raise ProfileError("a blank sample teaches nothing")
        stored, dropped = self.profile.add(char, ink=sample if is_ink else None, image=None if is_ink else sample)
        feature = self._embed([prepared])[0]
        protos = self._ensure_prototypes(feature.shape[-1])
        protos.add(self._index[char], feature)
        for old in dropped:  # the caps let the oldest samples go: so do the prototypes
            if old.char in self._index:
                protos.add(self._index[old.char], self._embed([self._sample_image(old.ink, old.image)])[0], sign=-1)
        return stored.id

    def forget_sample(self, sample_id: int) -> None:
        """Undo one learned sample (a re-pick for the same ink replaces the earlier label)."""
        if self.profile is None:
            return
        removed = self.profile.remove(sample_id)
        if removed is not None and removed.char in self._index and self._prototypes is not None:
            feature = self._embed([self._sample_image(removed.ink, removed.image)])[0]
            self._prototypes.add(self._index[removed.char], feature, sign=-1)

    def forget_all(self) -> None:
        if self.profile is not None:
            self.profile.forget()
        self._prototypes = None

    @torch.inference_mode()
    def forward(self, batch: np.ndarray) -> torch.Tensor:
        """uint8 (N, S, S) already through raster.prepare_image -> softmax over all labels, (N, classes);
        the penultimate features of the same pass are left in ``_last_features`` (N, D) as numpy."""
        x = torch.from_numpy(normalize(batch, self.spec)).to(self.device)
        logits, features = self._run(x)
        if self.ctc:  # a lone character: each class by its best frame, the blank left out
            best = torch.softmax(logits, dim=2)[..., 1:].amax(dim=1)
            probs = best / best.sum(dim=1, keepdim=True)
        else:
            probs = torch.softmax(logits, dim=1)
        if not torch.isfinite(probs).all():
            raise RecognitionError(f"the model gave NaN scores{f' ({self.path.name})' if self.path else ''}")
        features = features.float()
        self._last_features = (features.mean(dim=1) if features.ndim == 3 else features).cpu().numpy()
        return probs

    def _run(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(logits, the head's input features) of one pass."""
        if self._onnx is not None:
            logits, features = self._onnx(x.numpy())
            return torch.from_numpy(logits), torch.from_numpy(features)
        if self._fast is not None:
            logits, features = self._fast(x)
            return logits.float(), features
        return self.model(x).float(), self._head.hwime_features

    def probabilities(self, batch: np.ndarray) -> torch.Tensor:
        """uint8 (N, S, S) already through raster.prepare_image -> the network's softmax, (N, classes)."""
        return self.forward(batch)

    # --- ranking: model ⊕ script ⊕ usage prior ⊕ context ---------------------------------------------------------
    def folding(self, script: str | None = None, by_usage: bool = False) -> Folding:
        """Which labels answer in ``script`` (default: the writer's) and where the others' probability goes;
        ``by_usage``: a label with several forms splits by their usage (for lines, see Folding)."""
        script = check_script(script or self.script)
        key = (script, by_usage)
        if key not in self._foldings:
            usage = np.exp(self.usage_log_prior("", script)) if by_usage and script != "both" else None
            self._foldings[key] = Folding(self.labels, script, usage)
        return self._foldings[key]

    def language(self, script: str | None = None):
        """The language side in ``script``: the traditional table for traditional, the simplified one otherwise."""
        from .language import load_language

        return load_language(script="traditional" if (script or self.script) == "traditional" else "simplified")

    def _language_keys(self, script: str) -> list[str]:
        """Each label as the language table of ``script`` knows it: itself, or in "both" its simplified form."""
        if script != "both":
            return self.labels
        if "both" not in self._keys:
            self._keys["both"] = [forms(c, "simplified")[0] for c in self.labels]
        return self._keys["both"]

    def usage_log_prior(self, context: str = "", script: str | None = None) -> np.ndarray:
        """log p_usage(c | context) for every label in ``script`` (hwime.language)."""
        script = check_script(script or self.script)
        language = self.language(script)
        if script == "both":
            context = convert(context, "simplified")  # "both" reads the simplified table
        if not context:
            if script not in self._log_priors:
                self._log_priors[script] = language.log_prior(self._language_keys(script))
            return self._log_priors[script]
        return language.log_context(self._language_keys(script), context, self.context_mix)

    def scores(self, probs: torch.Tensor | np.ndarray, context: str = "", prior: bool | None = None,
               weight: float | None = None, features: np.ndarray | None = None,
               script: str | None = None) -> torch.Tensor:
        """Model probabilities (N, classes) -> the combined, renormalized scores (N, classes) on the CPU, folded
        into ``script`` (default: the writer's; a label not answered there scores 0). ``weight`` overrides λ (for
        choosing it); ``prior=False`` leaves the usage prior out; ``features`` (the same pass's penultimate
        features) bring in what was learned from the writer."""
        script = check_script(script or self.script)
        folding = self.folding(script)
        scores = folding.fold(torch.as_tensor(probs, dtype=torch.float32).cpu())
        use = self.use_prior if prior is None else prior
        lam = self.prior_weight if weight is None else weight
        log = None
        if use and lam > 0:
            log = torch.log(scores.clamp_min(1e-12)) + lam * torch.from_numpy(self.usage_log_prior(context, script))
        if features is not None and self._prototypes is not None and len(self._prototypes):
            base = log if log is not None else torch.log(scores.clamp_min(1e-12))
            log = base + folding.fold_bonus(torch.from_numpy(self._prototypes.bonus(features)))
        if log is None:
            return scores
        if not folding.identity:  # what the script does not answer stays at 0, whatever the prior says
            log = log.masked_fill(~torch.from_numpy(folding.answered), float("-inf"))
        return torch.softmax(log, dim=1)

    def rank(self, probs: torch.Tensor | np.ndarray, top: int = 10, context: str = "",
             prior: bool | None = None, features: np.ndarray | None = None,
             script: str | None = None) -> list[list[Candidate]]:
        """Model probabilities (N, classes) -> candidates in ``script``, combined with the usage prior, context and
        (given the same pass's features) what was learned from the writer."""
        if top < 1:
            raise ValueError(f"top must be at least 1, got {top}")
        scores = self.scores(probs, context, prior, features=features, script=script)
        # the order is the ranking scores' own; only what each candidate reports is calibrated
        indices = self.offered(scores).topk(min(top, len(self.labels)), dim=1).indices
        values = self.calibrated(scores).gather(1, indices)
        return [[Candidate(self.labels[j], float(v)) for v, j in zip(row_v, row_i)]
                for row_v, row_i in zip(values.tolist(), indices.tolist())]

    def offered(self, scores: torch.Tensor, floor: float | None = None) -> torch.Tensor:
        """Ranking scores (N, classes) with each symbol below ``floor`` (default the bundle's) times its row's first
        score moved below every character (-1), so it is offered only once the characters run out. Where a symbol is
        first, symbols are being written (l, 1, I, 丨 look alike): the row is left as it is."""
        floor = self.symbol_floor if floor is None else float(floor)
        if floor <= 0:
            return scores
        first, where = scores.max(dim=1, keepdim=True)
        unlikely = self._symbols & (scores < floor * first) & ~self._symbols[where]
        return scores.masked_fill(unlikely, -1.0)

    def calibrated(self, scores: torch.Tensor, temperature: float | None = None) -> torch.Tensor:
        """Ranking scores (N, classes) from ``scores`` -> the probabilities candidates report: softmax(log score / T)
        with the bundle's T (or ``temperature``). Monotone in the score, so the order stays the ranking's; a label
        the script does not answer (0) stays 0."""
        t = self.score_temperature if temperature is None else float(temperature)
        if t == 1.0:
            return scores
        # float64: at T > 1 a runner-up's share comes from log-scores far below the first's
        return torch.softmax(torch.log(scores.double()) / t, dim=1).float()

    def recognize_prepared(self, batch: np.ndarray, top: int = 10, context: str = "",
                           prior: bool | None = None, script: str | None = None) -> list[list[Candidate]]:
        """uint8 (N, S, S) already through raster.prepare_image -> top candidates for each; blank images get none."""
        if len(batch) == 0:
            return []
        if top < 1:
            raise ValueError(f"top must be at least 1, got {top}")
        inked = [i for i in range(len(batch)) if has_ink(batch[i])]  # a blank page has no candidates
        out: list[list[Candidate]] = [[] for _ in range(len(batch))]
        if not inked:
            return out
        probs = self.forward(batch[inked])
        for i, cands in zip(inked, self.rank(probs, top, context, prior, features=self._last_features, script=script)):
            out[i] = cands
        return out

    def recognize_images(self, images: Sequence[np.ndarray], top: int = 10, batch_size: int = 256,
                         context: str = "", prior: bool | None = None,
                         script: str | None = None) -> list[list[Candidate]]:
        """Grayscale glyph images (uint8, 255 = paper, any size and aspect) -> candidates for each.

        ``context``: the characters written just before (ranks by what usually follows them);
        ``prior=False`` ranks by shape alone; ``script`` overrides the writer's for this call."""
        out: list[list[Candidate]] = []
        for i in range(0, len(images), batch_size):
            batch = np.stack([prepare_image(gray_image(im), self.spec) for im in images[i : i + batch_size]])
            out += self.recognize_prepared(batch, top, context, prior, script)
        return out

    def recognize_inks(self, inks: Sequence[Ink], top: int = 10, batch_size: int = 256, context: str = "",
                       prior: bool | None = None, script: str | None = None) -> list[list[Candidate]]:
        """Candidates for each ink; an empty ink has none."""
        out: list[list[Candidate]] = [[] for _ in inks]
        todo = [i for i, ink in enumerate(inks) if not ink.is_empty]
        for start in range(0, len(todo), batch_size):
            chunk = todo[start : start + batch_size]
            batch = np.stack([ink_to_image(inks[i], self.spec) for i in chunk])
            for i, cands in zip(chunk, self.recognize_prepared(batch, top, context, prior, script)):
                out[i] = cands
        return out

    def recognize_ink(self, ink: Ink, top: int = 10, context: str = "", prior: bool | None = None,
                      script: str | None = None) -> list[Candidate]:
        return self.recognize_inks([ink], top, context=context, prior=prior, script=script)[0]

    # --- lines (a CTC recognizer reads a run of characters) --------------------------------------------------------
    @torch.inference_mode()
    def line_log_probs(self, sample: Ink | np.ndarray, script: str | None = None) -> np.ndarray:
        """A written line (ink) or a photo/scan of one (grayscale, any size) -> log-probabilities (frames, classes + 1),
        blank first, folded into ``script`` (default: the writer's); (0, classes + 1) for a blank line."""
        if not self.ctc:
            raise ModelError(f"{self.path.name if self.path else 'this model'} reads one character at a time; "
                             "line mode needs a line recognizer (the v3 bundle)")
        if isinstance(sample, Ink) and sample.is_empty:
            return np.zeros((0, len(self.labels) + 1), np.float32)
        if not isinstance(sample, Ink):
            sample = gray_image(sample)
        prepared = prepare_written_line(sample, self.spec)
        if not has_ink(prepared):
            return np.zeros((0, len(self.labels) + 1), np.float32)
        x = torch.from_numpy(normalize(prepared[None], self.spec)).to(self.device)
        log_probs = torch.log_softmax(self._run(x)[0], dim=2)[0]
        if not torch.isfinite(log_probs).all():
            raise RecognitionError(f"the model gave NaN scores{f' ({self.path.name})' if self.path else ''}")
        # the line decoder's bigram weighs little or nothing (casia's random rows): usage ranks a label's forms
        # (lines-dev unchanged; traditional renders: 合 read as 閤, 系 as 繫, 面 as 麵 without it)
        folding = self.folding(script, by_usage=True)
        if folding.identity:
            return log_probs.cpu().numpy()
        folded = folding.fold_frames(np.exp(log_probs.cpu().numpy().astype(np.float64)))
        return np.log(np.maximum(folded, 1e-30)).astype(np.float32)

    def line_language_model(self, context: str = "", script: str | None = None):
        """(lm(prev, c), the class written before the line or -1) for hwime.decode.beam_search, in ``script``."""
        script = check_script(script or self.script)
        language = self.language(script)
        mix = float(self.metadata.get("line_mix", LINE_MIX))
        labels = self._language_keys(script)

        def lm(prev: int, c: int) -> float:
            return language.next_log_prob(labels[prev] if prev >= 0 else "", labels[c], mix)

        return lm, self._index.get(context[-1:], -1) if context else -1

    def line_weights(self) -> LineWeights:
        """The line decoder's language side: the bundle's tuned values, else the defaults."""
        m = self.metadata
        return LineWeights(float(m.get("line_lm_weight", LINE_LM_WEIGHT)), float(m.get("line_bonus", LINE_BONUS)),
                           float(m.get("line_start_weight", LINE_START_WEIGHT)),
                           float(m.get("line_name_share", LINE_NAME_SHARE)))

    def line_start_model(self, weight: float, share: float, script: str | None = None):
        """c -> ``weight`` · how much likelier a line starts with c when it is a name with probability ``share``
        (Language.name_start_log_ratio); None where either is 0."""
        if weight <= 0 or share <= 0:
            return None
        script = check_script(script or self.script)
        language, labels = self.language(script), self._language_keys(script)
        return lambda c: weight * language.name_start_log_ratio(labels[c], share)

    def _name_start(self, context: str, length: int, weights: LineWeights, script: str | None):
        """line_start_model where a line of ``length`` characters after ``context`` may be a name, else None."""
        if context or length > NAME_MAX_CHARS:
            return None
        return self.line_start_model(weights.start, weights.name_share, script)

    def decode_line(self, log_probs: np.ndarray, beam: int = 10, context: str = "", script: str | None = None,
                    language: bool = True, weights: LineWeights | None = None) -> list:
        """The beam's strings (hwime.decode.Decoded, best first) for a line's frames, with the language side unless
        ``language=False`` (or the bundle turns it off): the bigram after ``context``, and where the line may be a
        name, the surnames at its start. ``weights`` replace the bundle's."""
        from . import decode as ctc

        if not (language and self.use_prior):
            return ctc.beam_search(log_probs, beam)
        lm, first = self.line_language_model(context, script)
        weights = weights or self.line_weights()
        start = self._name_start(context, len(ctc.greedy(log_probs).labels), weights, script)
        return ctc.beam_search(log_probs, beam, lm, weights.lm, weights.bonus, first_prev=first, start=start)

    def read_line(self, sample: Ink | np.ndarray, script: str | None = None, reread: bool = True,
                  alternatives: int = 10) -> LineReading:
        """What a line shows before any language: its frames' log-probabilities (line_log_probs), and for an image
        whose characters stand apart on paper (raster.line_pieces_on_paper, cut where the plain beam's characters
        part), each character read alone, as the single box reads it: its ``alternatives`` (class, probability),
        best first. None for ink, for a line of one character, for touching characters (real names on forms: cuts
        through them break them, lines-dev names 17.1% CER by frames, 31.6% re-read everywhere) and with
        ``reread=False``."""
        from . import decode as ctc
        from .ppocrv6 import FRAME_STRIDE

        script = check_script(script or self.script)
        log_probs = self.line_log_probs(sample, script)
        if isinstance(sample, Ink) or not reread or len(log_probs) == 0:
            return LineReading(log_probs, None, ())
        plain = next((d for d in ctc.beam_search(log_probs, 10) if d.labels), None)
        # one character: nothing to cut, and the box's reading of it lost to the frames' (lines-dev names: 李 -> 1,
        # 付 -> 休; CER 10.60 -> 10.41% without them, casia unchanged)
        if plain is None or len(plain.labels) < 2:
            return LineReading(log_probs, None, ())
        pieces = line_pieces_on_paper(gray_image(sample), self.spec, ctc.cut_columns(plain.spans, FRAME_STRIDE))
        if pieces is None:
            return LineReading(log_probs, None, ())
        batch = np.stack([prepare_image(piece, self.spec) for piece in pieces])
        probs = self.scores(self.forward(batch), prior=False, features=self._last_features, script=script)
        values, indices = probs.topk(min(alternatives, len(self.labels)), dim=1)
        return LineReading(log_probs, [list(zip(row_i, row_v)) for row_v, row_i in zip(values.tolist(),
                                                                                     indices.tolist())], plain.spans)

    def decode_reading(self, log_probs: np.ndarray, pieces: list | None, beam: int = 10, context: str = "",
                       script: str | None = None, decode: str = "beam", language: bool = True,
                       weights: LineWeights | None = None) -> list:
        """read_line's evidence -> strings (hwime.decode.Decoded, best first): over the pieces where the line was cut
        (each character's alternatives, with the language side), else over the frames (greedy, or the beam with the
        language side unless ``language=False``). The pieces' strings carry no spans (see recognize_line)."""
        from . import decode as ctc

        if decode not in ("greedy", "beam"):
            raise ValueError(f"decode must be greedy or beam, not {decode!r}")
        if pieces is None:
            if decode == "greedy":
                return [ctc.greedy(log_probs)]
            return self.decode_line(log_probs, beam, context, script, language, weights)
        options = [[(k, float(np.log(max(p, 1e-12)))) for k, p in alts] for alts in pieces]
        if not (language and self.use_prior and decode == "beam"):
            return [ctc.Decoded(labels, score, ()) for labels, score in ctc.position_beam(options, beam)]
        lm, first = self.line_language_model(context, script)
        weights = weights or self.line_weights()
        start = self._name_start(context, len(pieces), weights, script)
        strings = ctc.position_beam(options, beam, lm, weights.lm, first, start)
        return [ctc.Decoded(labels, score, ()) for labels, score in strings]

    def recognize_line(self, sample: Ink | np.ndarray, top: int = 5, context: str = "", decode: str = "beam",
                       beam: int = 10, alternatives: int = 10, language: bool = True,
                       reread: bool = True, script: str | None = None) -> list[LineCandidate]:
        """The ``top`` best readings of a line, best first; [] for a blank one. ``decode``: "greedy" or "beam";
        ``language=False`` leaves the language side out of the beam; ``context``: the text written before.
        ``reread=False`` reads an image as ink is read, by its frames alone; by default an image whose characters
        stand apart is cut into them and each is read on its own, as the single box does (read_line)."""
        from . import decode as ctc

        if top < 1:
            raise ValueError(f"top must be at least 1, got {top}")
        if decode not in ("greedy", "beam"):
            raise ValueError(f"decode must be greedy or beam, not {decode!r}")
        script = check_script(script or self.script)
        log_probs, pieces, cut_spans = self.read_line(sample, script, reread, alternatives)
        if len(log_probs) == 0:
            return []
        found = self.decode_reading(log_probs, pieces, max(beam, top), context, script, decode, language)
        found = [d for d in found if d.labels]
        if not found:  # frames that read as blank all along: nothing was written that can be offered
            return []
        if pieces is not None:  # every string has one character per piece: the spans it was cut at
            ranked = [ctc.Decoded(d.labels, d.score, cut_spans) for d in found]
            alts_of, best_spans = pieces, cut_spans
        else:
            ranked, alts_of = self._rank_line(log_probs, found, alternatives)
            best_spans = found[0].spans
        ranked = ranked[:top]
        shares = line_shares([d.score for d in ranked])
        out = []
        for d, share in zip(ranked, shares.tolist()):
            chars = []
            for pos, (c, span) in enumerate(zip(d.labels, d.spans)):
                alts = alts_of[pos] if d.spans is best_spans else ctc.span_alternatives(log_probs, span, alternatives)
                own = next((p for k, p in alts if k == c), 0.0)
                chars.append(tuple([Candidate(self.labels[c], own)] +
                                   [Candidate(self.labels[k], p) for k, p in alts if k != c][: alternatives - 1]))
            out.append(LineCandidate("".join(self.labels[c] for c in d.labels), float(share), tuple(chars), d.spans))
        return sorted_line_candidates(out)

    def _rank_line(self, log_probs: np.ndarray, found: list, alternatives: int) -> tuple[list, list]:
        """The beam's strings in the order a writer wants them, and the best string's alternatives per position.
        The beam's runners-up are mostly the best string with a character dropped; what a writer wants second is
        the best string with one character read otherwise: those come first, scored by what that position says."""
        from . import decode as ctc

        best = found[0]
        alts_of = [ctc.span_alternatives(log_probs, span, alternatives) for span in best.spans]
        variants = []
        for pos, (c, alts) in enumerate(zip(best.labels, alts_of)):
            own = next((p for k, p in alts if k == c), 0.0)
            for k, p in alts[:3]:
                if k != c and p > 0.01 and own > 0:
                    labels = best.labels[:pos] + (k,) + best.labels[pos + 1:]
                    variants.append(ctc.Decoded(labels, best.score + float(np.log(p / own)), best.spans))
        same = [d for d in found[1:] if len(d.labels) == len(best.labels)]
        others = [d for d in found[1:] if len(d.labels) != len(best.labels)]
        ranked, seen = [], set()
        for d in [best] + sorted(same + variants, key=lambda d: -d.score) + others:
            if d.labels not in seen:
                seen.add(d.labels)
                ranked.append(d)
        return ranked, alts_of

    def line_ink_parts(self, ink: Ink, spans: Sequence[tuple[int, int]]) -> list[Ink]:
        """The strokes under each character of a line read from ``ink`` (its frame spans): each stroke goes to the
        character whose frames its horizontal centre falls in, cut halfway between neighbours."""
        from .decode import cut_columns
        from .ppocrv6 import FRAME_STRIDE
        from .raster import line_column_to_ink_x

        if not spans:
            return []
        cuts = cut_columns(spans, FRAME_STRIDE)
        bounds = line_column_to_ink_x(ink, self.spec, np.array(cuts)) if cuts else np.array([])
        parts: list[list] = [[] for _ in spans]
        for stroke in ink.strokes:
            centre = (float(stroke[:, 0].min()) + float(stroke[:, 0].max())) / 2
            parts[int(np.searchsorted(bounds, centre))].append(stroke)
        return [Ink(tuple(p)) for p in parts]
