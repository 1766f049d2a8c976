"""Where characters begin in overlapped writing (叠写): a small learned model over the strokes' geometry.

Characters written one on top of another in one box leave no gap to cut at, and the recognizer alone cannot tell a
whole character from a part of one (口 inside 中; 一 丨 丿 are characters). Two small models, trained by
``python -m hwime.training train-segmenter`` on overlapped sequences the stroke synthesizer writes:

* the boundary model: per stroke, P(a new character starts with this stroke), a GRU over each stroke's geometry
  and its relation to the strokes before it (and the pause before it where the ink has timing);
* the span model: per run of strokes j..k, P(the run is one whole character), from its extent in the box.

Everything is causal: stroke i's features use only strokes 0..i, measured in the unit of the ink so far (the box
when the caller knows it), so a stroke's numbers never change once it is written and the reader (hwime.overlap)
scores only what a new stroke adds. The file is a plain state dict + config loadable with
``torch.load(weights_only=True)``; no training code here (that is hwime.training.overlaptrain).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

SEGMENTER_FORMAT = "hwime-segmenter/1"
SEGMENTER_FILE = "segmenter.pt"
RESAMPLE = 8  # points per stroke kept for distances: enough to tell touching from crossing at box scale
LOOKBACK = 3  # earlier strokes a stroke is compared with
STROKE_FEATURES = 27
SPAN_FEATURES = 14
MAX_PAUSE_MS = 10_000.0


class SegmenterError(RuntimeError):
    """A segmenter file that is missing, unreadable or inconsistent; the message names the file."""


def _resample(xy: np.ndarray, n: int = RESAMPLE) -> tuple[np.ndarray, float]:
    """(n points evenly along the stroke, its length)."""
    seg = np.hypot(*np.diff(xy, axis=0).T) if len(xy) > 1 else np.zeros(0)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    if cum[-1] <= 1e-9:
        return np.repeat(xy[:1], n, axis=0), 0.0
    t = np.linspace(0.0, cum[-1], n)
    return np.stack([np.interp(t, cum, xy[:, 0]), np.interp(t, cum, xy[:, 1])], axis=1), float(cum[-1])


class StrokeGeometry:
    """The strokes written so far and what the models read from them; ``add`` one stroke, ``pop`` the last.

    ``unit``: the box's side where the caller knows it (the pad); else the longer side of the ink so far."""

    def __init__(self, unit: float | None = None):
        self.unit = float(unit) if unit else None
        self.points: list[np.ndarray] = []  # (RESAMPLE, 2) per stroke
        self.lengths: list[float] = []
        self.boxes: list[np.ndarray] = []  # x0, y0, x1, y1
        self.times: list[tuple[float, float]] = []  # (start, end) ms, NaN without timing
        self.frames: list[tuple[np.ndarray, float]] = []  # (origin, unit) at the time each stroke was written
        self.stroke_rows: list[np.ndarray] = []
        self._lows: list[np.ndarray] = []  # the ink's bounding box after each stroke
        self._highs: list[np.ndarray] = []

    def __len__(self) -> int:
        return len(self.points)

    def add(self, stroke: np.ndarray) -> np.ndarray:
        """Stroke (n, 2..4: x, y, t ms, pressure) -> its feature row (STROKE_FEATURES,)."""
        xy = np.asarray(stroke[:, :2], dtype=np.float64)
        pts, length = _resample(xy)
        box = np.concatenate([xy.min(axis=0), xy.max(axis=0)])
        t = stroke[:, 2] if stroke.shape[1] > 2 else np.full(len(stroke), np.nan)
        self.points.append(pts)
        self.lengths.append(length)
        self.boxes.append(box)
        self.times.append((float(t[0]), float(t[-1])))
        if self._lows:
            low, high = np.minimum(self._lows[-1], box[:2]), np.maximum(self._highs[-1], box[2:])
        else:
            low, high = box[:2], box[2:]
        self._lows.append(low)
        self._highs.append(high)
        unit = self.unit or max(float((high - low).max()), 1e-6)
        self.frames.append((low if not self.unit else self._origin_for_box(low, high), unit))
        row = self._stroke_row(len(self.points) - 1)
        self.stroke_rows.append(row)
        return row

    def _origin_for_box(self, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        # a known box: the ink's centre sits at the box's centre
        return (low + high) / 2 - self.unit / 2

    def pop(self) -> None:
        for seq in (self.points, self.lengths, self.boxes, self.times, self.frames, self.stroke_rows, self._lows,
                    self._highs):
            seq.pop()

    def _stroke_row(self, i: int) -> np.ndarray:
        origin, unit = self.frames[i]
        pts = (self.points[i] - origin) / unit
        box = np.concatenate([(self.boxes[i][:2] - origin) / unit, (self.boxes[i][2:] - origin) / unit])
        row = np.zeros(STROKE_FEATURES, np.float32)
        row[0:2], row[2:4] = pts[0], pts[-1]
        row[4:8] = box
        row[8:10] = box[2:] - box[:2]
        row[10] = self.lengths[i] / unit
        if i > 0:
            prev_end = (self.points[i - 1][-1] - origin) / unit
            prev_start = (self.points[i - 1][0] - origin) / unit
            row[11:13] = pts[0] - prev_end
            row[13] = float(np.hypot(*(pts[0] - prev_end)))
            row[14:16] = pts[0] - prev_start
        for back in range(1, LOOKBACK + 1):  # closest approach to each of the last strokes (touching vs crossing)
            if i - back >= 0:
                other = (self.points[i - back] - origin) / unit
                d = np.hypot(pts[:, None, 0] - other[None, :, 0], pts[:, None, 1] - other[None, :, 1])
                row[15 + back] = float(d.min())
            else:
                row[15 + back] = 1.0
        if i > 0:  # the extent of the last strokes together: a character under way spreads over the box
            j = max(0, i - LOOKBACK)
            boxes = np.stack(self.boxes[j:i])
            row[19:21] = (boxes[:, 2:].max(axis=0) - boxes[:, :2].min(axis=0)) / unit
            inside = np.clip(np.minimum(box[2:], (boxes[:, 2:].max(axis=0) - origin) / unit)
                             - np.maximum(box[:2], (boxes[:, :2].min(axis=0) - origin) / unit), 0, None)
            area = max(float(np.prod(box[2:] - box[:2])), 1e-4)
            row[21] = float(np.prod(inside)) / area
        row[22] = 1.0 if i == 0 else 0.0
        start, end = self.times[i]
        if i > 0 and math.isfinite(start) and math.isfinite(self.times[i - 1][1]):
            pause = min(max(start - self.times[i - 1][1], 0.0), MAX_PAUSE_MS)
            row[23] = 1.0
            row[24] = math.log1p(pause) / 5.0
            row[25] = math.log1p(min(max(end - start, 0.0), MAX_PAUSE_MS)) / 5.0
        row[26] = min(self.lengths[i] / unit, 3.0) ** 0.5  # short dots and long sweeps apart, on a gentler scale
        return row

    def span_rows(self, k: int, starts: np.ndarray) -> np.ndarray:
        """Features (len(starts), SPAN_FEATURES) of the runs starts[m]..k, in the frame of stroke k's time."""
        origin, unit = self.frames[k]
        starts = np.asarray(starts, dtype=np.int64)
        first = int(starts.min()) if len(starts) else k
        boxes = np.stack(self.boxes[first : k + 1])  # rows first..k
        # union of boxes j..k for every j: running min/max from k backwards
        low = np.minimum.accumulate(boxes[::-1, :2], axis=0)[::-1]
        high = np.maximum.accumulate(boxes[::-1, 2:], axis=0)[::-1]
        lengths = np.cumsum(np.array(self.lengths[first : k + 1])[::-1])[::-1]
        idx = starts - first
        lo, hi = (low[idx] - origin) / unit, (high[idx] - origin) / unit
        size = hi - lo
        n = (k - starts + 1).astype(np.float64)
        out = np.zeros((len(starts), SPAN_FEATURES), np.float32)
        out[:, 0:2], out[:, 2:4], out[:, 4:6] = lo, hi, size
        out[:, 6] = size.max(axis=1)
        out[:, 7] = size.min(axis=1)
        out[:, 8] = np.log(n) / 3.0
        out[:, 9] = lengths[idx] / unit / 10.0
        out[:, 10] = lengths[idx] / unit / n
        out[:, 11:13] = (np.stack([self.points[j][0] for j in starts]) - origin) / unit if len(starts) else 0
        out[:, 13] = (starts == 0).astype(np.float32)  # the ink's first character: its unit is still growing
        return out


class BoundaryNet(torch.nn.Module):
    """Per stroke, the logit of 'a new character starts here' from the strokes so far (a causal GRU), and a second
    opinion once the next stroke is written (``ahead``): whether stroke i+1 carries on around stroke i or not."""

    def __init__(self, hidden: int = 48):
        super().__init__()
        self.inp = torch.nn.Linear(STROKE_FEATURES, hidden)
        self.gru = torch.nn.GRU(hidden, hidden, batch_first=True)
        self.out = torch.nn.Sequential(torch.nn.Linear(hidden + STROKE_FEATURES, hidden), torch.nn.ReLU(),
                                       torch.nn.Linear(hidden, 1))
        self.next = torch.nn.Sequential(torch.nn.Linear(2 * (hidden + STROKE_FEATURES), hidden), torch.nn.ReLU(),
                                        torch.nn.Linear(hidden, 1))

    def forward(self, rows: torch.Tensor, state: torch.Tensor | None = None):
        """rows (B, T, F) -> (logits (B, T), the GRU's outputs (B, T, H), its last state)."""
        h, last = self.gru(torch.relu(self.inp(rows)), state)
        # the stroke's own features go to the head too: the GRU carries the context, the stroke the evidence
        return self.out(torch.cat([h, rows], dim=2)).squeeze(2), h, last

    def ahead(self, h: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """GRU outputs and rows (B, T, …) -> logits (B, T - 1) for strokes 0..T-2, each seen with the next."""
        own = torch.cat([h, rows], dim=2)
        return self.next(torch.cat([own[:, :-1], own[:, 1:]], dim=2)).squeeze(2)


class SpanNet(torch.nn.Module):
    """Per run of strokes, the logit of 'these strokes are one whole character'."""

    def __init__(self, hidden: int = 48):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(SPAN_FEATURES, hidden), torch.nn.ReLU(),
                                       torch.nn.Linear(hidden, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1))

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        return self.net(rows).squeeze(-1)


class Segmenter:
    """The two models and their config; ``log_start`` / ``log_whole`` give the search its terms."""

    def __init__(self, boundary: BoundaryNet, span: SpanNet, config: dict):
        self.boundary = boundary.eval()
        self.span = span.eval()
        self.config = dict(config)

    @classmethod
    def new(cls, hidden: int = 48, metadata: dict | None = None) -> "Segmenter":
        return cls(BoundaryNet(hidden), SpanNet(hidden), {"hidden": hidden, **(metadata or {})})

    def state(self) -> dict:
        return {"format": SEGMENTER_FORMAT, "config": self.config,
                "boundary": {k: v.detach().clone() for k, v in self.boundary.state_dict().items()},
                "span": {k: v.detach().clone() for k, v in self.span.state_dict().items()},
                "stroke_features": STROKE_FEATURES, "span_features": SPAN_FEATURES}

    def save(self, path: str | Path) -> None:
        torch.save(self.state(), path)

    @classmethod
    def load(cls, path: str | Path | None = None) -> "Segmenter":
        """The file at ``path`` (default: the one beside the bundled model); SegmenterError naming it otherwise."""
        from .bundled import asset_path
        from .bundle import ModelError, read_weights_file

        path = Path(path) if path else asset_path(SEGMENTER_FILE)
        try:
            data = read_weights_file(path, "segmenter")
        except ModelError as exc:
            raise SegmenterError(str(exc)) from None
        if not isinstance(data, dict) or data.get("format") != SEGMENTER_FORMAT:
            raise SegmenterError(f"{path}: not a hwime segmenter (format {str(data.get('format') if isinstance(data, dict) else None)[:40]!r})")
        if data.get("stroke_features") != STROKE_FEATURES or data.get("span_features") != SPAN_FEATURES:
            raise SegmenterError(f"{path}: made for other features ({data.get('stroke_features')}, "
                                 f"{data.get('span_features')}) than this hwime reads ({STROKE_FEATURES}, {SPAN_FEATURES})")
        config = data.get("config")
        hidden = config.get("hidden") if isinstance(config, dict) else None
        if not isinstance(hidden, int) or isinstance(hidden, bool) or not 1 <= hidden <= 512:
            raise SegmenterError(f"{path}: config.hidden must be a whole number from 1 to 512")
        weights = config.get("weights", {})  # the search's tuned weights (hwime.overlap.OverlapWeights): numbers only
        if not isinstance(weights, dict) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and -20 <= v <= 20 for v in weights.values()):
            raise SegmenterError(f"{path}: config.weights must be numbers from -20 to 20")
        seg = cls.new(hidden)
        seg.config = dict(config)
        for name, net in (("boundary", seg.boundary), ("span", seg.span)):
            weights = data.get(name)
            if not isinstance(weights, dict) or not all(isinstance(v, torch.Tensor) for v in weights.values()):
                raise SegmenterError(f"{path}: {name} is not a table of tensors")
            if any(v.is_floating_point() and not torch.isfinite(v).all() for v in weights.values()):
                raise SegmenterError(f"{path}: {name} holds NaN or infinite weights")
            try:
                net.load_state_dict({k: v.float() for k, v in weights.items()})
            except RuntimeError as exc:
                raise SegmenterError(f"{path}: {name} weights do not fit ({str(exc).splitlines()[0][:120]})") from None
        return seg

    @torch.inference_mode()
    def step(self, row: np.ndarray, state: torch.Tensor | None) -> tuple[float, torch.Tensor]:
        """One stroke's features and the GRU state before it -> (log P(a character starts here), the state after)."""
        logit, _, state = self.boundary(torch.from_numpy(row[None, None]), state)
        return float(torch.nn.functional.logsigmoid(logit[0, 0])), state

    @torch.inference_mode()
    def step_ahead(self, rows: np.ndarray, states: list[torch.Tensor]) -> float:
        """Two strokes' features (2, F) and the GRU states after each -> log P(a character starts at the first),
        now that the second is written."""
        h = torch.cat([states[0][0], states[1][0]], dim=0)[None]  # (1, 2, H): a one-layer GRU's state is its output
        logit = self.boundary.ahead(h, torch.from_numpy(np.asarray(rows, np.float32)[None]))
        return float(torch.nn.functional.logsigmoid(logit[0, 0]))

    @torch.inference_mode()
    def log_start_all(self, rows: np.ndarray, ahead: bool = False) -> np.ndarray:
        """Features (T, F) of a whole ink -> log P(start) per stroke (what ``step`` gives one by one); ``ahead``:
        each but the last seen with the stroke after it (``step_ahead``)."""
        if len(rows) == 0:
            return np.zeros(0)
        x = torch.from_numpy(np.asarray(rows, np.float32)[None])
        logit, h, _ = self.boundary(x)
        if ahead and len(rows) > 1:
            logit = torch.cat([self.boundary.ahead(h, x), logit[:, -1:]], dim=1)
        return torch.nn.functional.logsigmoid(logit[0]).double().numpy()

    @torch.inference_mode()
    def log_whole(self, rows: np.ndarray) -> np.ndarray:
        """Span features (N, F) -> log P(the span is one whole character)."""
        if len(rows) == 0:
            return np.zeros(0)
        return torch.nn.functional.logsigmoid(self.span(torch.from_numpy(np.asarray(rows, np.float32)))).double().numpy()


def log_not(log_p: float) -> float:
    """log(1 - p) from log p, stable near p = 1."""
    return math.log(-math.expm1(log_p)) if log_p < -1e-12 else -30.0
