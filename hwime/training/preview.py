"""`preview`: a PNG sheet of what the model will see from a source, optionally beside real samples of the same characters."""

from __future__ import annotations

from itertools import islice
from pathlib import Path

import numpy as np
from PIL import Image

from .. import charset
from ..raster import ink_to_image, prepare_image
from .casia import iter_gnt, iter_pot
from .dataset import recipe_fonts
from .recipe import Recipe
from .realsets import load_any


LABEL_WIDTH = 56


def _grid(rows: list[np.ndarray], names: list[str], per_row: int, size: int) -> Image.Image:
    """Rows of samples, each headed by its character's code point (drawn with PIL's own font: no CJK font needed)."""
    from PIL import ImageDraw

    blank = np.full((size, size), 255, np.uint8)
    lines = []
    for row in rows:
        cells = list(row[:per_row]) + [blank] * (per_row - len(row[:per_row]))
        lines.append(np.concatenate([np.full((size, LABEL_WIDTH), 255, np.uint8)] + cells, axis=1))
        lines.append(np.full((2, LABEL_WIDTH + per_row * size), 160, np.uint8))  # separator
    image = Image.fromarray(np.concatenate(lines, axis=0))
    draw = ImageDraw.Draw(image)
    for i, name in enumerate(names):
        draw.text((3, i * (size + 2) + size // 2 - 5), name, fill=0)
    return image


def preview(recipe: Recipe, source: str, out: str | Path, chars: str | None = None, per_char: int = 12,
            real: str | None = None) -> Path:
    spec = recipe.data.raster
    by_char: dict[str, list[np.ndarray]] = {}
    if source == "synthetic":
        from .synthetic import StrokeStyle, SyntheticSource

        classes = recipe.data.classes
        # "found" means the classes of the recipe's CASIA files: preview the common characters instead
        labels = list(chars) if chars else charset.named_set("gb1" if classes == "found" else classes)[:16]
        src = SyntheticSource(labels, spec, recipe.data.seed, font_share=recipe.data.font_share,
                              fonts=recipe_fonts(recipe),
                              style=StrokeStyle(cursive_components=recipe.data.cursive_components))
        for c, ch in enumerate(labels):
            by_char[ch] = [src.sample(c, i) for i in range(per_char)]
    else:
        path = Path(source)
        if path.suffix.lower() == ".gnt":
            items = ((label, prepare_image(img, spec)) for label, img in iter_gnt(path))
        elif path.suffix.lower() == ".pot":
            items = ((label, ink_to_image(ink, spec)) for label, ink in iter_pot(path))
        else:
            data = load_any(path, spec)
            items = zip(data.labels, data.images)
        wanted = set(chars) if chars else None
        for label, image in items:
            if wanted is not None and label not in wanted:
                continue
            if wanted is None and label not in by_char and len(by_char) >= 16:
                continue
            by_char.setdefault(label, [])
            if len(by_char[label]) < per_char:
                by_char[label].append(image)
    rows, names = [], []
    real_data = load_any(real, spec) if real else None
    for ch, images in by_char.items():
        rows.append(np.stack(images) if images else np.zeros((0, spec.size, spec.size), np.uint8))
        names.append(f"U+{ord(ch):04X}")
        if real_data is not None:
            mine = [im for lab, im in zip(real_data.labels, real_data.images) if lab == ch]
            rows.append(np.stack(list(islice(mine, per_char))) if mine else np.zeros((0, spec.size, spec.size), np.uint8))
            names.append("real")
    if not rows:
        raise ValueError(f"no samples found in {source} for {chars or 'any character'}")
    image = _grid(rows, names, per_char, spec.size)
    out = Path(out)
    image.save(out)
    return out
