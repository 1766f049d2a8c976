"""Networks behind one registry: build_model(arch, num_classes). All take (N, 1, S, S) and return logits.

hwnet, the default, is MobileNetV3-small with a one-channel stem and a narrow head: the classifier over
~6,800 classes dominates the parameter count, so a 320-wide bottleneck keeps the fp16 bundle under 8 MB.
It was picked by measurement on a 2-core CPU (see training/README.md): ~3x the training throughput of
MobileNetV2 at the same input size, and a few milliseconds per character on one thread.
"""

from __future__ import annotations

from typing import Callable

from torch import nn
from torchvision import models


def _one_channel(conv: nn.Conv2d) -> nn.Conv2d:
    return nn.Conv2d(1, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, bias=conv.bias is not None)


def hwnet(num_classes: int, hidden: int = 320) -> nn.Module:
    net = models.mobilenet_v3_small(weights=None)
    net.features[0][0] = _one_channel(net.features[0][0])
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = 0.1  # torchvision's 0.01 leaves eval statistics stale for the first thousand steps
    net.classifier = nn.Sequential(
        nn.Linear(576, hidden), nn.Hardswish(inplace=True), nn.Dropout(0.2), nn.Linear(hidden, num_classes)
    )
    return net


def mobilenet_v2(num_classes: int) -> nn.Module:
    net = models.mobilenet_v2(weights=None, num_classes=num_classes)
    net.features[0][0] = _one_channel(net.features[0][0])
    return net


def resnet18(num_classes: int) -> nn.Module:
    net = models.resnet18(weights=None, num_classes=num_classes)
    net.conv1 = _one_channel(net.conv1)
    return net


def efficientnet_v2_s(num_classes: int) -> nn.Module:
    net = models.efficientnet_v2_s(weights=None, num_classes=num_classes)
    net.features[0][0] = _one_channel(net.features[0][0])
    return net


ARCHS: dict[str, Callable[[int], nn.Module]] = {
    "hwnet": hwnet,
    "mobilenet_v2": mobilenet_v2,
    "resnet18": resnet18,
    "efficientnet_v2_s": efficientnet_v2_s,
}


def build_model(arch: str, num_classes: int) -> nn.Module:
    if arch not in ARCHS:
        raise ValueError(f"unknown arch {arch!r}; choose from {', '.join(ARCHS)}")
    return ARCHS[arch](num_classes)


def head_size(model: nn.Module) -> int:
    """Number of classes the model's last linear layer produces."""
    last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    return last.out_features


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
