"""hwime.network: one pass returns (logits, features) under every engine; networks declare what they are."""

import numpy as np
import pytest
import torch

from hwime.model import build_model, head_of
from hwime.network import EagerEngine, Network, check_engine, pick_device


def test_each_network_declares_its_head_and_the_ctc_ones_their_frames():
    for arch in ("hwnet", "mobilenet_v2", "resnet18", "crnn-tiny", "ppocrv6-tiny"):
        model = build_model(arch, 7)
        assert head_of(model).out_features == 7 + bool(getattr(model, "ctc", False))
    assert build_model("ppocrv6-tiny", 7).frame_stride == 8 and build_model("ppocrv6-tiny", 7).input_height == 48
    assert build_model("crnn-tiny", 7).frame_stride == 8
    wrapped = build_model("resnet18", 7, in_channels=3, channel_mean=[0.5] * 3, channel_std=[0.2] * 3)
    assert head_of(wrapped) is wrapped[-1].fc


def test_the_eager_pass_returns_the_heads_input_and_leaves_no_hook_behind():
    torch.manual_seed(0)
    model = build_model("hwnet", 5).eval()
    net = Network(model, torch.device("cpu"), 32)
    assert isinstance(net.engine, EagerEngine) and net.engine_name == "torch" and not net.ctc
    x = torch.randn(3, 1, 32, 32)
    logits, features = net(x)
    head = head_of(model)
    assert logits.shape == (3, 5) and features.shape == (3, head.in_features)
    with torch.inference_mode():
        assert torch.allclose(head(features), logits, atol=1e-5 * float(logits.abs().max()))
    assert not head._forward_pre_hooks  # nothing of the pass stays on the model


def test_engines_are_chosen_by_setting_and_checked():
    assert check_engine("torch") == "torch"
    with pytest.raises(ValueError, match="engine must be"):
        check_engine("bogus")
    with pytest.raises(ValueError, match="device must be"):
        pick_device("tpu")
    assert pick_device("cpu") == (torch.device("cpu"), None)


def test_a_ctc_network_under_torch_gives_frames_and_per_frame_features():
    torch.manual_seed(0)
    model = build_model("ppocrv6-tiny", 9).fuse().eval()
    net = Network(model, torch.device("cpu"), 96, engine="torch")
    logits, features = net(np.zeros((2, 1, 48, 96), np.float32))
    assert logits.shape == (2, 12, 10) and features.shape[:2] == (2, 12)
