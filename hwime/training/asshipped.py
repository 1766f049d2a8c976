"""`as-shipped`: the imported network read as PaddlePaddle ships it, the bar every reading path of ours must meet.

PaddleOCR's recognizer resizes the whole image to 48 rows (its width to scale), normalizes it to -1..1, pads it with
zeros to at least 320 columns (its rec_image_shape 3,48,320; a wider line widens the batch instead of being
squeezed), crops nothing and decodes greedily. Here the same network (our bundle's
weights, so restricted to our classes and folded into the writer's script) reads each input that way:
a character is its classes' best frame, a line the greedy string. Ink is drawn first as the pad draws a line
(raster.render_line_ink). Our own paths are `evaluate` (characters, model alone: ``prior=False``) and
`evaluate-lines` (lines, greedy).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..decode import edit_distance, greedy
from ..ink import Ink
from ..raster import gray_image, load_image, render_line_ink
from ..samples import char_folder

HEIGHT = 48
PADDED_WIDTH = 320  # PaddleOCR's rec_image_shape 3,48,320
MAX_WIDTH = 48 * 100  # a strip 100 times wider than high is no line (and would take the pass's memory)


def shipped_input(gray: np.ndarray) -> np.ndarray:
    """A grayscale image (uint8, 255 = paper) -> float32 (1, 1, 48, W >= 320) as PaddleOCR prepares it."""
    from PIL import Image

    h, w = gray.shape
    width = min(MAX_WIDTH, max(1, int(np.ceil(HEIGHT * w / max(h, 1)))))
    resized = np.asarray(Image.fromarray(gray).resize((width, HEIGHT), Image.BILINEAR), np.float32)
    out = np.zeros((1, 1, HEIGHT, max(width, PADDED_WIDTH)), np.float32)
    out[0, 0, :, :width] = resized / 127.5 - 1.0
    return out


def _pass(rec, gray: np.ndarray):
    import torch

    logits, _ = rec.network(torch.from_numpy(shipped_input(gray)))
    return torch.softmax(logits.float(), dim=2)[0]  # (frames, 1 + classes)


def character_accuracy(rec, folder: str | Path, script: str | None = None, top: int = 10) -> dict:
    """A <char>/<image> folder read as shipped: top-1 and top-``top`` of each image's best frame per class."""
    import sys

    from ..cli import text_cell
    from ..files import check_regular
    from ..raster import RasterError
    from .realsets import MAX_IMAGE_BYTES

    folding = rec.folding(script)
    hits1 = hits_top = count = 0
    for label, path in char_folder(folder):
        if label not in rec.codec:
            continue
        try:  # a FIFO named 1.png would block the open for ever; a bad image costs only itself
            check_regular(path, MAX_IMAGE_BYTES)
            gray = load_image(path)
        except (OSError, RasterError) as exc:
            print(f"skipped {text_cell(str(exc))}", file=sys.stderr, flush=True)
            continue
        best = folding.fold(rec.codec.class_columns(_pass(rec, gray)).amax(dim=0)[None])[0]
        ranked = [rec.labels[j] for j in best.topk(top).indices.tolist()]
        hits1 += ranked[0] == label
        hits_top += label in ranked
        count += 1
    return {"samples": count, "top1": hits1 / max(count, 1), f"top{top}": hits_top / max(count, 1)}


def line_cer(rec, lines, script: str | None = None) -> dict:
    """A line set (training.linesets.LineSet) read as shipped, greedy: CER and line accuracy."""
    folding = rec.folding(script, by_usage=True)
    errors = chars = right = count = 0
    for sample, text in lines.pairs():
        gray = render_line_ink(sample) if isinstance(sample, Ink) else gray_image(sample)
        probs = _pass(rec, gray).double().numpy()
        frames = folding.fold_frames(probs)
        read = "".join(rec.labels[k] for k in greedy(np.log(np.maximum(frames, 1e-30))).labels)
        errors += edit_distance(read, text)
        chars += len(text)
        right += read == text
        count += 1
    return {"lines": count, "cer": errors / max(chars, 1), "line_accuracy": right / max(count, 1)}
