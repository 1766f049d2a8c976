"""Recognizer: the one object the pad, the CLI and the training tools hold — a thin facade over the pipeline.

    ink or image -> raster (hwime.raster) -> tensor -> network pass (hwime.network: logits, features)
      -> ranking (hwime.ranking: script, usage prior, context, the writer's samples, symbol floor, temperature)
      -> candidates (hwime.readers: characters, lines)

The bundle (hwime.bundle) says what the network is and which output is which character; what the writer taught
(hwime.personal) is embedded with the same network and enters the ranking as one term.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from .bundle import LabelCodec, ModelError, ModelNotFoundError, load_bundle
from .bundled import DEFAULT_MODEL, asset_path
from .ink import Ink
from .network import Network, check_engine, pick_device
from .notes import ModelNote, NoteKind
from .ranking import Candidate, LookAlikes, Ranker, RankingOptions, RankingValues
from .raster import RasterError, RasterSpec, gray_image, has_ink, ink_to_image, prepare_image
from .readers import (CharacterReader, LineCandidate, LineOptions, LineReader, LineReading, LineWeights,
                      RecognitionError)
from .script import Folding, check_script, default_script

__all__ = ["Recognizer", "Candidate", "LineCandidate", "ModelError", "ModelNotFoundError", "RecognitionError"]

# log-score added at a perfect match with the writer's own samples (measured with v1:
# training/reports/synthetic-gb2312/notes.md, "Learning the writer")
PERSONAL_STRENGTH = 5.0
PERSONAL_FLOOR = 0.5  # cosine similarity below which the writer's samples say nothing
PERSONAL_POWER = 1.0


def _plausible(probs: torch.Tensor, cls: int) -> bool:
    """Whether the network's own reading of a sample (its probabilities over the labels) has ``cls`` among its first
    PLAUSIBLE_RANK: a label a writer chose among what the pad offered, not a slip of the key."""
    from .personal import PLAUSIBLE_RANK

    return int((probs > probs[cls]).sum()) < PLAUSIBLE_RANK


def _look_alikes(model: torch.nn.Module, codec: LabelCodec) -> LookAlikes | None:
    """Which characters look alike, from the rows of the network's head (the blank's left out); None for a network
    whose head is not one linear layer over the labels."""
    from .model import head_of

    try:
        rows = head_of(model).weight.detach().float().cpu().numpy()
    except (ValueError, AttributeError):
        return None
    rows = rows[codec.offset:]
    return LookAlikes(rows) if len(rows) == len(codec.labels) else None


class Recognizer:
    def __init__(self, model: torch.nn.Module, labels: Sequence[str], spec: RasterSpec, device: torch.device,
                 path: Path | None = None, metadata: dict | None = None, script: str | None = None,
                 engine: str | None = None):
        runtime: list[str] = []
        self.network = Network(model, device, spec.input_width, path, engine, runtime)
        self.notes: list[ModelNote] = [ModelNote(NoteKind.OTHER, text=text) for text in runtime]
        self.model = self.network.model
        self.ctc = self.network.ctc
        self.codec = LabelCodec(labels, blank=self.ctc)
        self.labels = list(self.codec.labels)
        self.spec = spec
        self.device = device
        self.path = path
        self.metadata = metadata or {}
        # the writer's script (hwime.script): which labels are answered and into what a candidate is folded
        self.script = check_script(script) if script is not None else default_script()
        self.ranker = Ranker(self.codec, RankingValues.from_metadata(self.metadata))
        self.ranker.look_alikes = _look_alikes(self.model, self.codec)
        self.characters = CharacterReader(self.network, self.codec, spec, self.ranker, path)
        self.lines = LineReader(self.characters, self.metadata, lambda: self._prototypes)
        self.profile = None  # hwime.personal.Profile: what was learned from this writer
        self._prototypes = None

    @property
    def prototypes(self):
        """What was learned from the writer, embedded (hwime.personal.Prototypes), or None."""
        return self._prototypes

    @property
    def engine_name(self) -> str:
        """The runtime the network runs under: onnxruntime or torch."""
        return self.network.engine_name

    @property
    def prior_weight(self) -> float:
        return self.ranker.values.prior_weight

    @property
    def score_temperature(self) -> float:
        return self.ranker.values.score_temperature

    def set_ranking_values(self, **changes: float) -> None:
        """Replace some of the bundle's ranking values (hwime.ranking.RankingValues: prior_weight, context_mix,
        score_temperature, symbol_floor) for what this recognizer ranks from now on: how tuning tries them."""
        self.ranker.values = dataclasses.replace(self.ranker.values, **changes)

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
        bundle = load_bundle(path)
        dev, note = pick_device(device)
        rec = cls(bundle.model, bundle.codec.labels, bundle.spec, dev, path, bundle.metadata, script, engine)
        try:  # one blank input through the network: a bundle whose parts disagree fails here, not at every input
            rec.forward(np.full((1, bundle.spec.size, bundle.spec.input_width), 255, np.uint8))
        except Exception as exc:
            raise ModelError(f"{path}: the network cannot read its own input ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0][:120] if str(exc) else ''})") from None
        if note:
            rec.notes.append(ModelNote(NoteKind.NO_CUDA, text=note))
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
        usable = [s for s in profile.samples if s.char in self.codec.index]
        if len(usable) < len(profile.samples):
            unknown = len(profile.samples) - len(usable)
            self.notes.append(ModelNote(NoteKind.SAMPLES_UNKNOWN, unknown,
                                        f"{unknown} learned samples are of characters this model lacks"))
        images, kept = [], []
        for s in usable:
            try:
                images.append(self.sample_image(s.ink, s.image))
                kept.append(s)
            except (RasterError, ValueError):  # one odd stored sample must not cost the writer the rest
                self.notes.append(ModelNote(NoteKind.OTHER, text=f"learned sample {s.id} ({s.char}) could not be drawn "
                                                                 f"and is left out"))
        for start in range(0, len(kept), 256):
            probs, feats = self.forward_features(np.stack(images[start : start + 256]))
            for row, s, f in zip(probs, kept[start : start + 256], feats):
                cls = self.codec.index[s.char]
                self.ensure_prototypes(f.shape[-1]).add(cls, f, plausible=_plausible(row, cls))

    def ensure_prototypes(self, dim: int):
        from .personal import Prototypes

        if self._prototypes is None:
            self._prototypes = Prototypes(len(self.labels), dim, PERSONAL_STRENGTH, PERSONAL_FLOOR, PERSONAL_POWER)
        return self._prototypes

    def sample_image(self, ink: Ink | None, image: np.ndarray | None) -> np.ndarray:
        return ink_to_image(ink, self.spec) if ink is not None else prepare_image(image, self.spec)

    def learn(self, sample: Ink | np.ndarray, char: str) -> int:
        """Teach that ``sample`` (ink, or a grayscale image) is ``char``; acts from the next recognition.
        Returns the stored sample's id (for ``forget_sample``). Without a profile, an in-memory one is made."""
        from .personal import Profile, ProfileError

        if char not in self.codec.index:
            raise ProfileError(f"{char!r} is not among this model's {len(self.labels)} characters")
        if self.profile is None:
            self.attach_profile(Profile(None))
        is_ink = isinstance(sample, Ink)
        prepared = self.sample_image(sample if is_ink else None, None if is_ink else sample)
        if not has_ink(prepared):
            raise ProfileError("a blank sample teaches nothing")
        stored, dropped = self.profile.add(char, ink=sample if is_ink else None, image=None if is_ink else sample)
        self._add_sample(char, prepared)
        for old in dropped:  # the caps let the oldest samples go: so do the prototypes
            if old.char in self.codec.index:
                self._add_sample(old.char, self.sample_image(old.ink, old.image), sign=-1)
        return stored.id

    def _add_sample(self, char: str, prepared: np.ndarray, sign: int = 1) -> None:
        """One prepared sample of ``char`` into (or, ``sign`` -1, out of) the prototypes, with whether the network
        itself reads it as ``char`` (hwime.personal.Prototypes.add)."""
        probs, features = self.forward_features(prepared[None])
        cls = self.codec.index[char]
        self.ensure_prototypes(features.shape[-1]).add(cls, features[0], sign=sign, plausible=_plausible(probs[0], cls))

    def forget_sample(self, sample_id: int) -> None:
        """Undo one learned sample (a re-pick for the same ink replaces the earlier label)."""
        if self.profile is None:
            return
        removed = self.profile.remove(sample_id)
        if removed is not None and removed.char in self.codec.index and self._prototypes is not None:
            self._add_sample(removed.char, self.sample_image(removed.ink, removed.image), sign=-1)

    def forget_char(self, char: str) -> int:
        """Forget every sample of ``char`` the writer taught (a mistaken pick, a wrong correction); the other
        characters learned stay. Returns how many samples went."""
        if self.profile is None:
            return 0
        removed = self.profile.forget_char(char)
        if removed and char in self.codec.index and self._prototypes is not None:
            self._prototypes.clear(self.codec.index[char])
        return len(removed)

    def detach_profile(self) -> None:
        """Stop using the profile (nothing on disk changes): ranking is the model's and the language's again."""
        self.profile, self._prototypes = None, None

    def forget_all(self) -> None:
        if self.profile is not None:
            self.profile.forget()
        self._prototypes = None

    def embed(self, prepared: list[np.ndarray]) -> np.ndarray:
        """Prepared squares -> the features the writer's samples are compared in (N, D)."""
        return self.characters.probabilities(np.stack(prepared))[1]

    # --- one pass, and ranking (hwime.ranking) -------------------------------------------------------------------------
    def forward(self, batch: np.ndarray) -> torch.Tensor:
        """uint8 (N, S, S) already through raster.prepare_image -> softmax over all labels, (N, classes)."""
        return self.characters.probabilities(batch)[0]

    def forward_features(self, batch: np.ndarray) -> tuple[torch.Tensor, np.ndarray]:
        """forward's probabilities and the same pass's penultimate features (N, D)."""
        return self.characters.probabilities(batch)

    def _options(self, context: str, prior: bool | None, script: str | None, weight: float | None = None,
                 look_alikes: bool = True) -> RankingOptions:
        return RankingOptions(check_script(script or self.script), context, True if prior is None else prior, weight,
                              look_alikes)

    def folding(self, script: str | None = None, by_usage: bool = False) -> Folding:
        """Which labels answer in ``script`` (default: the writer's) and where the others' probability goes."""
        return self.ranker.folding(check_script(script or self.script), by_usage)

    def language(self, script: str | None = None):
        """The language side in ``script`` (default: the writer's)."""
        return self.ranker.language(check_script(script or self.script))

    def usage_log_prior(self, context: str = "", script: str | None = None) -> np.ndarray:
        """log p_usage(c | context) for every label in ``script`` (hwime.language)."""
        return self.ranker.usage_log_prior(context, check_script(script or self.script))

    def scores(self, probs: torch.Tensor | np.ndarray, context: str = "", prior: bool | None = None,
               weight: float | None = None, features: np.ndarray | None = None,
               script: str | None = None) -> torch.Tensor:
        """Model probabilities (N, classes) -> the combined, renormalized scores (hwime.ranking.Ranker.scores);
        ``weight`` overrides λ (for choosing it); ``features`` bring in what was learned from the writer."""
        return self.ranker.scores(probs, self._options(context, prior, script, weight), features, self._prototypes)

    def rank(self, probs: torch.Tensor | np.ndarray, top: int = 10, context: str = "",
             prior: bool | None = None, features: np.ndarray | None = None,
             script: str | None = None) -> list[list[Candidate]]:
        """Model probabilities (N, classes) -> candidates in ``script``."""
        return self.ranker.rank(probs, top, self._options(context, prior, script), features, self._prototypes)

    def offered(self, scores: torch.Tensor, floor: float | None = None) -> torch.Tensor:
        return self.ranker.offered(scores, floor)

    def calibrated(self, scores: torch.Tensor, temperature: float | None = None) -> torch.Tensor:
        return self.ranker.calibrated(scores, temperature)

    # --- characters ---------------------------------------------------------------------------------------------------
    def recognize_prepared(self, batch: np.ndarray, top: int = 10, context: str = "",
                           prior: bool | None = None, script: str | None = None,
                           taps: np.ndarray | None = None, look_alikes: bool = True) -> list[list[Candidate]]:
        """uint8 (N, S, S) already through raster.prepare_image -> top candidates for each; blank images get none;
        ``taps`` (N,) bool: the squares drawn from a tap of the pen, read as a dot; ``look_alikes=False``: no
        look-alike lends (hwime.ranking.lend_to_look_alikes), for readings a search decodes rather than offers."""
        return self.characters.read(batch, top, self._options(context, prior, script, look_alikes=look_alikes),
                                    self._prototypes, taps)

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
                       prior: bool | None = None, script: str | None = None,
                       look_alikes: bool = True) -> list[list[Candidate]]:
        """Candidates for each ink; an empty ink has none (``look_alikes``: see recognize_prepared)."""
        out: list[list[Candidate]] = [[] for _ in inks]
        todo = [i for i, ink in enumerate(inks) if not ink.is_empty]
        for start in range(0, len(todo), batch_size):
            chunk = todo[start : start + batch_size]
            batch = np.stack([ink_to_image(inks[i], self.spec) for i in chunk])
            taps = np.array([inks[i].is_tap for i in chunk])
            for i, cands in zip(chunk, self.recognize_prepared(batch, top, context, prior, script, taps, look_alikes)):
                out[i] = cands
        return out

    def recognize_ink(self, ink: Ink, top: int = 10, context: str = "", prior: bool | None = None,
                      script: str | None = None) -> list[Candidate]:
        return self.recognize_inks([ink], top, context=context, prior=prior, script=script)[0]

    # --- lines (a CTC recognizer reads a run of characters: hwime.readers.LineReader) --------------------------------
    def _line_reader(self) -> LineReader:
        if not self.ctc:
            raise ModelError(f"{self.path.name if self.path else 'this model'} reads one character at a time; "
                             "line mode needs a line recognizer (the v3 bundle)")
        return self.lines

    def line_log_probs(self, sample: Ink | np.ndarray, script: str | None = None) -> np.ndarray:
        """A written line (ink) or a photo/scan of one -> log-probabilities (frames, classes + 1), blank first,
        folded into ``script`` (default: the writer's); (0, classes + 1) for a blank line."""
        return self._line_reader().log_probs(sample, check_script(script or self.script))

    def line_weights(self) -> LineWeights:
        """The line decoder's language side: the bundle's tuned values, else the defaults."""
        return self.lines.weights

    def line_start_model(self, weight: float, share: float, script: str | None = None):
        return self.lines.start_model(weight, share, check_script(script or self.script))

    def decode_line(self, log_probs: np.ndarray, beam: int = 10, context: str = "", script: str | None = None,
                    language: bool = True, weights: LineWeights | None = None) -> list:
        """The beam's strings (hwime.decode.Decoded, best first) for a line's frames (LineReader.decode_frames)."""
        return self.lines.decode_frames(log_probs, beam, context, check_script(script or self.script), language,
                                        weights)

    def read_line(self, sample: Ink | np.ndarray, script: str | None = None, reread: bool = True,
                  alternatives: int = 10) -> LineReading:
        """What a line shows before any language (LineReader.evidence)."""
        return self._line_reader().evidence(sample, check_script(script or self.script), reread, alternatives)

    def decode_reading(self, log_probs: np.ndarray, pieces: list | None, beam: int = 10, context: str = "",
                       script: str | None = None, decode: str = "beam", language: bool = True,
                       weights: LineWeights | None = None) -> list:
        """read_line's evidence -> strings (LineReader.decode)."""
        options = LineOptions(check_script(script or self.script), context=context, decode=decode, beam=beam,
                              language=language, weights=weights)
        return self.lines.decode(LineReading(log_probs, pieces, ()), options, beam)

    def recognize_line(self, sample: Ink | np.ndarray, top: int = 5, context: str = "", decode: str = "beam",
                       beam: int = 10, alternatives: int = 10, language: bool = True,
                       reread: bool = True, script: str | None = None) -> list[LineCandidate]:
        """The ``top`` best readings of a line, best first; [] for a blank one (LineReader.read, LineOptions)."""
        options = LineOptions(check_script(script or self.script), top, context, decode, beam, alternatives,
                              language, reread)
        return self._line_reader().read(sample, options)

    def line_ink_parts(self, ink: Ink, spans: Sequence[tuple[int, int]]) -> list[Ink]:
        """The strokes under each character of a line read from ``ink`` (its frame spans)."""
        return self.lines.ink_parts(ink, spans)
