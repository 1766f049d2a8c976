"""The PP-OCRv6 text-line recognizer (PaddleOCR, Apache-2.0) as plain torch modules: PPLCNetV4 backbone,
LightSVTR neck, CTC head; tiny and small tiers.

(N, 1 or 3, 48, W) -> logits (N, W / 8, classes + 1), class 0 the CTC blank. A gray one-channel input is read as
the same image in all three channels (the first convolution's weights summed over its inputs: same result, a
third of the work), so the pad hands it the one gray channel it hands every model.

Written from the structure of PaddlePaddle's ONNX export (the graph `python -m hwime.training import-ppocr`
reads) and PaddleOCR's public description of PPLCNetV4 (ppocr/modeling/backbones/rec_lcnetv4.py). The published
weights are the re-parameterized form: each block's depthwise branches and BatchNorms are already folded into one
convolution with a bias, which is what the blocks here hold. That form trains as it is (fine-tuning starts from
it). The stem and neck still carry BatchNorm layers; ``fuse()`` folds them into the convolutions for inference.

The tiers, from the export (channels; stride (2, 1) keeps the width resolution for text lines):
    tiny:  stem conv 3→24→48 (GELU), blocks 48 | 48 | 48→96 (×3) | 96→160 (×4); neck: depthwise 1×5 + 1×1 conv,
           head 160→80→classes
    small: branch stem 3→48→96 (ReLU), blocks 96 | 96 ×2 | 96→192 (×7) | 192→384 (×3); neck: 1×1 conv 384→120,
           depthwise 1×7, two transformer blocks (8 heads, MLP 240, SiLU), shortcut; head 120→classes
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# (kernel, in, out, stride, squeeze-excite) per block, stage by stage; the tiers' structure, as exported
TIERS: dict[str, dict] = {
    "tiny": {
        "stem": (24, 48),
        "stem_type": "simple",
        "stages": [
            [(3, 48, 48, 1, True)],
            [(3, 48, 48, 1, False)],
            [(3, 48, 96, (2, 1), False), (3, 96, 96, 1, True), (3, 96, 96, 1, False)],
            [(3, 96, 160, (2, 1), False), (3, 160, 160, 1, True), (3, 160, 160, 1, False), (3, 160, 160, 1, False)],
        ],
        "neck": "conv",
        "neck_dim": 160,
        "head_mid": 80,
    },
    "small": {
        "stem": (48, 96),
        "stem_type": "branch",
        "stages": [
            [(3, 96, 96, 1, True)],
            [(3, 96, 96, 1, False), (3, 96, 96, 1, False)],
            [(3, 96, 192, (2, 1), False)] + [(3, 192, 192, 1, i % 2 == 0) for i in range(6)],
            [(3, 192, 384, (2, 1), False), (3, 384, 384, 1, True), (3, 384, 384, 1, False)],
        ],
        "neck": "svtr",
        "neck_dim": 120,
        "head_mid": 0,
    },
}
FRAME_STRIDE = 8  # input columns per output frame: the stem's 4 times the final pooling's 2
INPUT_HEIGHT = 48


def pointwise(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """A 1×1 convolution as one matrix product over the channels: torch's CPU convolution takes a slow generic path
    for 1×1 kernels (measured: 40% of small's time); on a channels-last tensor the permutes are free views. Exported
    to ONNX it stays a convolution: onnxruntime's 1×1 convolutions are its fast path, and the permutes would cost
    two transposes each (hwime.onnx_engine)."""
    if torch.onnx.is_in_onnx_export():
        return conv(x)
    return F.linear(x.permute(0, 2, 3, 1), conv.weight.flatten(1), conv.bias).permute(0, 3, 1, 2)


def _fold_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d | nn.BatchNorm1d) -> nn.Conv2d:
    """conv followed by bn (eval statistics) as one convolution with a bias."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                      groups=conv.groups, bias=True)
    bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
    with torch.no_grad():
        fused.weight.copy_(conv.weight * scale.view(-1, 1, 1, 1))
        fused.bias.copy_(bn.bias + (bias - bn.running_mean) * scale)
    return fused


class ConvBN(nn.Module):
    """Conv2d (no bias) + BatchNorm; after ``fuse()`` one Conv2d with a bias."""

    def __init__(self, cin: int, cout: int, kernel, stride=1, padding=0, groups: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, padding, groups=groups, bias=False)
        self.bn: nn.BatchNorm2d | None = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        return self.bn(x) if self.bn is not None else x

    def fuse(self) -> None:
        if self.bn is not None:
            self.conv, self.bn = _fold_bn(self.conv, self.bn), None


class GrayStem(nn.Module):
    """The first convolution, with 3 input channels as trained; a 1-channel input uses the weights summed over
    the channels (the gray image in all three channels, in one pass)."""

    def __init__(self, cout: int, batch_norm: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(3, cout, 3, 2, 1, bias=not batch_norm)
        self.bn: nn.BatchNorm2d | None = nn.BatchNorm2d(cout) if batch_norm else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.conv.weight if x.shape[1] == 3 else self.conv.weight.sum(1, keepdim=True)
        x = F.conv2d(x, w, self.conv.bias, self.conv.stride, self.conv.padding)
        return self.bn(x) if self.bn is not None else x

    def fuse(self) -> None:
        if self.bn is not None:
            self.conv, self.bn = _fold_bn(self.conv, self.bn), None


class SimpleStem(nn.Sequential):
    def __init__(self, mid: int, out: int):
        super().__init__(GrayStem(mid), nn.GELU(), ConvBN(mid, out, 3, 2, 1))


class SameConv(nn.Conv2d):
    """An even-sized convolution with "same" padding, the extra row and column at the bottom and right."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = self.kernel_size[0] - 1
        return super().forward(F.pad(x, (k // 2, k - k // 2, k // 2, k - k // 2)))


class BranchStem(nn.Module):
    """Stride 4 in two steps, with a max-pool branch beside two 2×2 convolutions in between (ReLU throughout)."""

    def __init__(self, mid: int, out: int):
        super().__init__()
        self.stem1 = GrayStem(mid, batch_norm=False)
        self.stem2a = SameConv(mid, mid // 2, 2)
        self.stem2b = SameConv(mid // 2, mid, 2)
        self.stem3 = nn.Conv2d(mid * 2, mid, 3, 2, 1)
        self.stem4 = nn.Conv2d(mid, out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.stem1(x))
        branch = F.relu(self.stem2b(F.relu(self.stem2a(x))))
        # a 2×2 max-pool at stride 1 with "same" padding, as the maximum of four shifted views (torch's max_pool2d
        # took 10% of small's time here)
        p = F.pad(x, (0, 1, 0, 1), value=float("-inf"))
        pooled = torch.maximum(torch.maximum(p[..., :-1, :-1], p[..., :-1, 1:]), torch.maximum(p[..., 1:, :-1], p[..., 1:, 1:]))
        return F.relu(pointwise(self.stem4, F.relu(self.stem3(torch.cat([pooled, branch], 1)))))



class SqueezeExcite(nn.Module):
    def __init__(self, channels: int, reduction: int = 4):
        super().__init__()
        self.reduce = nn.Conv2d(channels, channels // reduction, 1)
        self.expand = nn.Conv2d(channels // reduction, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = F.hardsigmoid(pointwise(self.expand, F.relu(pointwise(self.reduce, x.mean((2, 3), keepdim=True)))))
        return x * w


class LCNetV4Block(nn.Module):
    """Depthwise token mixer (+ squeeze-excite), then a 2× expand / GELU / compress channel mixer; residual when
    the shape is kept. Re-parameterized form: every convolution carries its folded BatchNorm as a bias."""

    def __init__(self, kernel: int, cin: int, cout: int, stride, se: bool):
        super().__init__()
        self.residual = cin == cout and stride == 1
        self.dw = nn.Conv2d(cin, cin, kernel, stride, kernel // 2, groups=cin)
        self.se = SqueezeExcite(cin) if se else None
        self.expand = nn.Conv2d(cin, cin * 2, 1)
        self.compress = nn.Conv2d(cin * 2, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.dw(x)
        if self.se is not None:
            x = self.se(x)
        y = pointwise(self.compress, F.gelu(pointwise(self.expand, x)))
        return x + y if self.residual else y


class ConvNeck(nn.Module):
    """tiny's neck: a 1×5 depthwise and a 1×1 convolution over the frame sequence, each BN + hardswish."""

    def __init__(self, dim: int):
        super().__init__()
        self.mix = ConvBN(dim, dim, (1, 5), 1, (0, 2), groups=dim)
        self.project = ConvBN(dim, dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.hardswish(self.project(F.hardswish(self.mix(x))))


class TransformerBlock(nn.Module):
    def __init__(self, dim: int, heads: int, hidden: int):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim, eps=1e-5)
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim, eps=1e-5)
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(n, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        attended = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(n, t, d)
        x = x + self.proj(attended)
        return x + self.fc2(F.silu(self.fc1(self.norm2(x))))


class SVTRNeck(nn.Module):
    """small's neck: 1×1 conv to 120 with a 1×7 depthwise local mixer, two transformer blocks over the frames,
    and a 1×1-conv shortcut from the backbone added back."""

    def __init__(self, cin: int, dim: int, depth: int = 2, heads: int = 8, hidden: int = 240):
        super().__init__()
        self.shortcut = ConvBN(cin, dim, 1)
        self.reduce = ConvBN(cin, dim, 1)
        self.local = ConvBN(dim, dim, (1, 7), 1, (0, 3), groups=dim)
        self.blocks = nn.ModuleList([TransformerBlock(dim, heads, hidden) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = F.silu(self.shortcut(x))
        x = F.silu(self.reduce(x))
        x = x + F.silu(self.local(x))
        n, c, h, w = x.shape
        tokens = x.flatten(2).transpose(1, 2)
        for block in self.blocks:
            tokens = block(tokens)
        x = self.norm(tokens).transpose(1, 2).reshape(n, c, h, w)
        return x + shortcut


class PPOCRv6Rec(nn.Module):
    """(N, 1|3, 48, W) -> CTC logits (N, W // 8, num_classes + 1); output 0 is the blank."""

    ctc = True
    input_height = INPUT_HEIGHT  # what the stages' pooling to one row was built for
    frame_stride = FRAME_STRIDE

    def __init__(self, tier: str, num_classes: int):
        super().__init__()
        if tier not in TIERS:
            raise ValueError(f"unknown PP-OCRv6 tier {tier!r}; choose from {', '.join(TIERS)}")
        cfg = TIERS[tier]
        self.tier = tier
        mid, out = cfg["stem"]
        self.stem = SimpleStem(mid, out) if cfg["stem_type"] == "simple" else BranchStem(mid, out)
        self.stages = nn.Sequential(*[nn.Sequential(*[LCNetV4Block(*b) for b in stage]) for stage in cfg["stages"]])
        last = cfg["stages"][-1][-1][2]
        dim = cfg["neck_dim"]
        self.neck = ConvNeck(dim) if cfg["neck"] == "conv" else SVTRNeck(last, dim)
        mid = cfg["head_mid"]
        self.head_mid = nn.Linear(dim, mid) if mid else None
        self.head = nn.Linear(mid or dim, num_classes + 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The per-frame features the head reads, (N, T, D)."""
        x = self.stages(self.stem(x.contiguous(memory_format=torch.channels_last)))
        x = F.avg_pool2d(x, (3, 2))  # a 48-high input leaves 3 rows: into one, 2 columns per frame
        x = self.neck(x).squeeze(2).transpose(1, 2)  # (N, T, C)
        return self.head_mid(x) if self.head_mid is not None else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


    def fuse(self) -> "PPOCRv6Rec":
        """Fold the remaining BatchNorms (stem, neck) into their convolutions: same outputs in eval mode."""
        for m in list(self.modules()):
            if isinstance(m, (ConvBN, GrayStem)):
                m.fuse()
        return self

    @property
    def fused(self) -> bool:
        return not any(isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) for m in self.modules())


class WithFeatures(nn.Module):
    """(logits, the head's input features) in one pass: the form exported to ONNX (hwime.onnx_engine), where a
    forward hook cannot reach the features. ``frames`` (a one-element int64 tensor): the head reads only the first that
    many frames (a lone character's square covers the first few of its input's: the head over 18,769 classes is
    a sixth of the pass, and what it reads in the padding is never the character); the features stay whole."""

    def __init__(self, net: PPOCRv6Rec):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor, frames: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.net.features(x)
        return self.net.head(f if frames is None else f[:, : frames[0]]), f


class FeaturesOf(nn.Module):
    """The network's per-frame features as a module's forward: what the CPU's torch engine traces. Its head runs
    outside the trace, in int8 (hwime.onnx_engine.Int8Head), so a traced float head would only be thrown away."""

    def __init__(self, net: PPOCRv6Rec):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.features(x)


def frozen_for_cpu(net: PPOCRv6Rec, width: int = 96) -> torch.jit.ScriptModule | None:
    """The fused network's features (FeaturesOf) traced, frozen and optimized for inference (weights pre-packed,
    convolutions and their adds fused): measured 13% faster per character on one CPU thread; any input width. None
    when tracing fails (the caller keeps the eager network)."""
    import warnings

    try:
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")
            # check_trace re-runs and compares the trace, importing torch.distributed to do it: 1.6 s of every load
            traced = torch.jit.trace(FeaturesOf(net).eval(), torch.zeros(1, 1, INPUT_HEIGHT, width),
                                     check_trace=False)
            return torch.jit.optimize_for_inference(torch.jit.freeze(traced))
    except Exception:  # an unusual torch build: the eager network gives the same answers
        return None
