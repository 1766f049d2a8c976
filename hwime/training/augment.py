"""Cheap tensor-level augmentation of a packed uint8 batch: affine + perspective, stroke weight, blur.

Works in the 0..255 paper-white domain and ends with hwime.raster's own threshold and normalize,
so an augmented image is still one the pad could have produced.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..raster import RasterSpec, normalize, threshold


def augment_batch(batch: torch.Tensor, spec: RasterSpec, strength: float, gen: torch.Generator) -> torch.Tensor:
    """uint8 (N, S, S) -> normalized float (N, 1, S, S); strength 0 only normalizes.

    Runs where ``batch`` is: hand it a CUDA batch and the GPU does the work (the random draws still come from
    ``gen`` on the CPU, so a run is the same sequence of augmentations on any device)."""
    if strength <= 0:
        return normalize(batch, spec)
    n = batch.shape[0]
    dev = batch.device
    ink = (255.0 - batch.float())[:, None] / 255.0  # ink bright so resampling pads with paper

    def u(lo: float, hi: float) -> torch.Tensor:
        return (lo + (hi - lo) * torch.rand(n, generator=gen)).to(dev)

    angle = u(-1, 1) * math.radians(10) * strength
    shear = u(-1, 1) * 0.2 * strength
    scale = torch.exp(u(-1, 1) * 0.12 * strength)
    aspect = torch.exp(u(-1, 1) * 0.12 * strength)
    tx, ty = u(-1, 1) * 0.08 * strength, u(-1, 1) * 0.08 * strength
    cos, sin = torch.cos(angle), torch.sin(angle)
    sx, sy = scale * aspect, scale / aspect
    # output -> input sampling matrix: inverse of rotate @ shear @ scale, applied by grid_sample
    theta = torch.stack([
        torch.stack([cos / sx, (sin + shear * cos) / sx, tx], dim=1),
        torch.stack([-sin / sy, (cos - shear * sin) / sy, ty], dim=1),
    ], dim=1)
    grid = F.affine_grid(theta, list(ink.shape), align_corners=False)
    # mild perspective: the far side of the page looks a little smaller
    px, py = (u(-1, 1) * 0.08 * strength)[:, None, None], (u(-1, 1) * 0.08 * strength)[:, None, None]
    denom = 1 + px * grid[..., 0] + py * grid[..., 1]
    grid = grid / denom[..., None]
    ink = F.grid_sample(ink, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    # pool only the samples drawn for each effect: most of the batch is left alone
    choice = torch.rand(n, generator=gen).to(dev)
    thick = choice < 0.2 * strength
    thin = (choice >= 0.2 * strength) & (choice < 0.3 * strength)
    ink[thick] = F.max_pool2d(ink[thick], 3, 1, 1)
    ink[thin] = -F.max_pool2d(-ink[thin], 3, 1, 1)
    blur = torch.rand(n, generator=gen).to(dev) < 0.2 * strength
    ink[blur] = F.avg_pool2d(ink[blur], 3, 1, 1, count_include_pad=False)

    paper = 255.0 - ink[:, 0].clamp(0, 1) * 255.0
    return normalize(threshold(paper, spec.threshold), spec)
