"""Networks behind one registry: build_model(arch, num_classes). All take (N, 1, S, S) and return logits (N, classes),
except the CTC recognizers (``ctc_arch``: PP-OCRv6, hwime.ppocrv6, and CRNN below), which take (N, 1, 48, W) and
return per-frame logits (N, W / 8, classes + 1) with the blank first.

``in_channels = 3`` (with optional per-channel ``channel_mean`` / ``channel_std``) builds the network with a
three-channel first layer behind a fixed input step that copies the gray image into the channels, as recipes
reproducing RGB-trained seeds need; the pad still hands every model one gray channel.

hwnet, the default, is MobileNetV3-small with a one-channel stem and a narrow head: the classifier over
~6,800 classes dominates the parameter count, so a 320-wide bottleneck keeps the fp16 bundle under 8 MB.
It was picked by measurement on a 2-core CPU (see training/README.md): ~3x the training throughput of
MobileNetV2 at the same input size, and a few milliseconds per character on one thread.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import nn

# torchvision is imported inside the builders that use it: importing it costs 2.9 s of the pad's start-up, and the
# PP-OCRv6 network the pad ships never needs it

MODEL_OPTIONS = ("in_channels", "channel_mean", "channel_std", "fused")


def _one_channel(conv: nn.Conv2d, channels: int = 1) -> nn.Conv2d:
    return nn.Conv2d(channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, bias=conv.bias is not None)


def hwnet(num_classes: int, hidden: int = 320, in_channels: int = 1) -> nn.Module:
    from torchvision import models

    net = models.mobilenet_v3_small(weights=None)
    net.features[0][0] = _one_channel(net.features[0][0], in_channels)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = 0.1  # torchvision's 0.01 leaves eval statistics stale for the first thousand steps
    net.classifier = nn.Sequential(
        nn.Linear(576, hidden), nn.Hardswish(inplace=True), nn.Dropout(0.2), nn.Linear(hidden, num_classes)
    )
    return net


def mobilenet_v2(num_classes: int, in_channels: int = 1) -> nn.Module:
    from torchvision import models

    net = models.mobilenet_v2(weights=None, num_classes=num_classes)
    net.features[0][0] = _one_channel(net.features[0][0], in_channels)
    return net


def resnet18(num_classes: int, in_channels: int = 1) -> nn.Module:
    from torchvision import models

    net = models.resnet18(weights=None, num_classes=num_classes)
    net.conv1 = _one_channel(net.conv1, in_channels)
    return net


def efficientnet_v2_s(num_classes: int, in_channels: int = 1) -> nn.Module:
    from torchvision import models

    net = models.efficientnet_v2_s(weights=None, num_classes=num_classes)
    net.features[0][0] = _one_channel(net.features[0][0], in_channels)
    return net


class CRNN(nn.Module):
    """The seeds' line recognizer (CNN + BiLSTM + CTC), trained from scratch: a VGG-style CNN turns a 48-high line
    into one feature column per 8 pixels of width (hwime.ppocrv6's frame stride, so the pad cuts lines the same
    way), two bidirectional LSTM layers read across the columns, a linear layer gives classes + 1, the blank first."""

    ctc = True
    frame_stride = 8  # input columns per output frame: three poolings by 2 across

    def __init__(self, num_classes: int, channels: Sequence[int] = (32, 64, 128, 256), hidden: int = 256):
        super().__init__()
        c1, c2, c3, c4 = channels

        def block(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

        self.cnn = nn.Sequential(
            *block(1, c1), nn.MaxPool2d(2),  # 24 x W/2
            *block(c1, c2), nn.MaxPool2d(2),  # 12 x W/4
            *block(c2, c3), *block(c3, c3), nn.MaxPool2d(2),  # 6 x W/8
            *block(c3, c4), *block(c4, c4), nn.MaxPool2d((2, 1)),  # 3 x W/8
            nn.AdaptiveAvgPool2d((1, None)),  # one column per frame, whatever height is left
        )
        self.rnn = nn.LSTM(c4, hidden, num_layers=2, bidirectional=True, batch_first=True, dropout=0.1)
        self.head = nn.Linear(2 * hidden, num_classes + 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        columns = self.cnn(x).squeeze(2).transpose(1, 2)  # (N, W / 8, C)
        return self.head(self.rnn(columns)[0])


def crnn(num_classes: int, in_channels: int = 1) -> nn.Module:
    return CRNN(num_classes)


def crnn_tiny(num_classes: int, in_channels: int = 1) -> nn.Module:
    """A quarter of the widths: for trying a line recipe out in minutes (and the tests)."""
    return CRNN(num_classes, channels=(8, 16, 32, 64), hidden=64)


class GrayToChannels(nn.Module):
    """(N, 1, S, S) -> (N, C, S, S): the gray image copied into C channels, each then shifted and scaled by its own
    mean and std — what torchvision's ToTensor + Normalize do to a gray scan converted to RGB."""

    def __init__(self, channels: int, mean: Sequence[float], std: Sequence[float]):
        super().__init__()
        self.channels = channels
        self.register_buffer("mean", torch.tensor(list(mean), dtype=torch.float32).view(1, channels, 1, 1))
        self.register_buffer("std", torch.tensor(list(std), dtype=torch.float32).view(1, channels, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x.expand(-1, self.channels, -1, -1) - self.mean) / self.std


def _ppocrv6(tier: str) -> Callable[..., nn.Module]:
    def build(num_classes: int, in_channels: int = 1) -> nn.Module:
        from .ppocrv6 import PPOCRv6Rec

        return PPOCRv6Rec(tier, num_classes)

    return build


ARCHS: dict[str, Callable[..., nn.Module]] = {
    "hwnet": hwnet,
    "mobilenet_v2": mobilenet_v2,
    "resnet18": resnet18,
    "efficientnet_v2_s": efficientnet_v2_s,
    "ppocrv6-tiny": _ppocrv6("tiny"),
    "ppocrv6-small": _ppocrv6("small"),
    "crnn": crnn,
    "crnn-tiny": crnn_tiny,
}
CTC_ARCHS = frozenset({"ppocrv6-tiny", "ppocrv6-small", "crnn", "crnn-tiny"})


def ctc_arch(arch: str) -> bool:
    """Whether ``arch`` reads a line into CTC frames (blank first) rather than classifying one square."""
    return arch in CTC_ARCHS


def build_model(arch: str, num_classes: int, in_channels: int = 1, channel_mean: Sequence[float] = (),
                channel_std: Sequence[float] = (), fused: bool = False) -> nn.Module:
    """The network ``arch``; it takes (N, 1, S, S) whatever ``in_channels`` its first layer has.
    ``fused``: a CTC recognizer in its inference form (BatchNorms folded), the shape its bundles store."""
    if arch not in ARCHS:
        raise ValueError(f"unknown arch {arch!r}; choose from {', '.join(ARCHS)}")
    if ctc_arch(arch):  # reads a gray line; its three-channel first layer is folded inside (hwime.ppocrv6)
        net = ARCHS[arch](num_classes)
        return net.fuse() if fused else net
    if isinstance(in_channels, bool) or not isinstance(in_channels, int) or in_channels not in (1, 3):
        raise ValueError(f"in_channels must be 1 or 3, got {in_channels!r}")
    mean, std = list(channel_mean) or [0.0] * in_channels, list(channel_std) or [1.0] * in_channels
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in mean + std)
    if len(mean) != in_channels or len(std) != in_channels or not numbers or min(std) <= 0:
        raise ValueError(f"channel_mean and channel_std need {in_channels} numbers each (std > 0), got {mean} and {std}")
    net = ARCHS[arch](num_classes, in_channels=in_channels)
    if in_channels == 1 and not channel_mean and not channel_std:
        return net
    return nn.Sequential(GrayToChannels(in_channels, mean, std), net)


def model_options(table: dict) -> dict:
    """The build_model options in a recipe's model section or a bundle's model_options (absent: one channel)."""
    return {k: table[k] for k in MODEL_OPTIONS if k in table}


def head_of(model: nn.Module) -> nn.Linear:
    """The layer that turns the features into outputs: the ``head`` the networks hwime defines declare, the
    classifier's last layer or ``fc`` of torchvision's, through the channel adapter build_model may put first."""
    if isinstance(model, nn.Sequential) and isinstance(model[0], GrayToChannels):
        return head_of(model[-1])
    for head in (getattr(model, "head", None), getattr(model, "fc", None)):
        if isinstance(head, nn.Linear):
            return head
    classifier = getattr(model, "classifier", None)
    if isinstance(classifier, nn.Sequential) and isinstance(classifier[-1], nn.Linear):
        return classifier[-1]
    raise ValueError(f"{type(model).__name__} declares no head")


def head_size(model: nn.Module) -> int:
    """Number of classes the model's head produces (a CTC head's blank not counted)."""
    return head_of(model).out_features - (1 if getattr(model, "ctc", False) else 0)
