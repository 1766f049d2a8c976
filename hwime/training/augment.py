"""Cheap tensor-level augmentation of a packed uint8 batch: affine + perspective, stroke weight, blur.

Works in the 0..255 paper-white domain and ends with hwime.raster's own threshold and normalize,
so an augmented image is still one the pad could have produced.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..raster import RasterSpec, normalize, threshold


def _as_ink(batch: torch.Tensor) -> torch.Tensor:
    """uint8 (N, S, S), 255 = paper -> float (N, 1, S, S) with the ink bright, so resampling pads with paper."""
    return (255.0 - batch.float())[:, None] / 255.0


def _as_input(ink: torch.Tensor, spec: RasterSpec) -> torch.Tensor:
    """Back to paper-white, through hwime.raster's own threshold and normalize."""
    paper = 255.0 - ink[:, 0].clamp(0, 1) * 255.0
    return normalize(threshold(paper, spec.threshold), spec)


def _uniform(n: int, gen: torch.Generator, dev: torch.device):
    """u(lo, hi): n draws from ``gen`` on the CPU, moved to the batch's device."""
    return lambda lo, hi: (lo + (hi - lo) * torch.rand(n, generator=gen)).to(dev)


def augment_batch(batch: torch.Tensor, spec: RasterSpec, strength: float, gen: torch.Generator) -> torch.Tensor:
    """uint8 (N, S, S) -> normalized float (N, 1, S, S); strength 0 only normalizes.

    Runs where ``batch`` is: hand it a CUDA batch and the GPU does the work (the random draws still come from
    ``gen`` on the CPU, so a run is the same sequence of augmentations on any device)."""
    if strength <= 0:
        return normalize(batch, spec)
    n = batch.shape[0]
    dev = batch.device
    ink = _as_ink(batch)
    u = _uniform(n, gen, dev)

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

    return _as_input(ink, spec)


def binarize(batch: torch.Tensor, level: int) -> torch.Tensor:
    """uint8 batch -> 0 below ``level``, 255 at or above it (seed 000 did this to training images only)."""
    return torch.where(batch < level, 0, 255).to(torch.uint8)


def _homography(src: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
    """(n, 3, 3) projective maps taking each row's four ``src`` points (n, 4, 2) onto its ``dst`` points."""
    n = src.shape[0]
    a = torch.zeros(n, 8, 8, device=src.device)
    x, y, u, v = src[..., 0], src[..., 1], dst[..., 0], dst[..., 1]
    one, zero = torch.ones_like(x), torch.zeros_like(x)
    a[:, 0::2] = torch.stack([x, y, one, zero, zero, zero, -x * u, -y * u], dim=2)
    a[:, 1::2] = torch.stack([zero, zero, zero, x, y, one, -x * v, -y * v], dim=2)
    b = torch.stack([u, v], dim=2).reshape(n, 8)
    h = torch.linalg.solve(a, b)
    return torch.cat([h, torch.ones(n, 1, device=src.device)], dim=1).view(n, 3, 3)


def seed_augment_batch(batch: torch.Tensor, spec: RasterSpec, strength: float, gen: torch.Generator) -> torch.Tensor:
    """The seeds' torchvision augmentations on a uint8 batch: RandomRotation(15°), RandomPerspective(0.5, p=0.1),
    GaussianBlur(3, σ 0.1–2) and RandomGrayscale (nothing to do on gray ink); ``strength`` scales the angle, the
    perspective's probability and σ. Returns the normalized float (N, 1, S, S) batch, as augment_batch does."""
    if strength <= 0:
        return normalize(batch, spec)
    n, size = batch.shape[0], batch.shape[-1]
    dev = batch.device
    ink = _as_ink(batch)
    u = _uniform(n, gen, dev)

    angle = u(-1, 1) * math.radians(15) * strength
    warp = u(0, 1) < 0.1 * strength
    # RandomPerspective pulls each corner inwards by up to half the half-side (distortion_scale 0.5)
    corners = torch.tensor([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]], device=dev).expand(n, 4, 2)
    pulled = corners - corners * torch.rand(n, 4, 2, generator=gen).to(dev) * 0.5 * warp[:, None, None]
    to_input = _homography(pulled, corners)  # where each output point was in the image
    base = F.affine_grid(torch.eye(2, 3, device=dev).expand(n, 2, 3), [n, 1, size, size], align_corners=False)
    points = torch.cat([base, torch.ones(n, size, size, 1, device=dev)], dim=3) @ to_input.transpose(1, 2)[:, None]
    points = points[..., :2] / points[..., 2:]
    cos, sin = torch.cos(angle)[:, None, None], torch.sin(angle)[:, None, None]
    grid = torch.stack([cos * points[..., 0] + sin * points[..., 1], -sin * points[..., 0] + cos * points[..., 1]], dim=3)
    ink = F.grid_sample(ink, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    sigma = u(0.1, 2.0) * strength
    taps = torch.arange(-1, 2, device=dev, dtype=torch.float32)
    kernel = torch.exp(-(taps[None] ** 2) / (2 * sigma[:, None] ** 2))
    kernel = kernel / kernel.sum(1, keepdim=True)  # one 3-tap Gaussian per image, applied along x then y
    padded = F.pad(ink, (1, 1, 1, 1), mode="replicate")
    rows = sum(kernel[:, i, None, None, None] * padded[..., :, i : i + size] for i in range(3))
    ink = sum(kernel[:, i, None, None, None] * rows[..., i : i + size, :] for i in range(3))
    return _as_input(ink, spec)
