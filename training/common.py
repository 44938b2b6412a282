"""Small helpers shared by the training scripts (torch side)."""
from __future__ import annotations

import torch
from torch import nn

from mobilenet_v2 import IMAGENET_MEAN, IMAGENET_STD


class NHWCImageInput(nn.Module):
    """Takes what the runtime feeds: NHWC float RGB in 0..255; gives NCHW normalised as the
    backbone was trained (mean and std per channel on 0..255; default torchvision's ImageNet)."""

    def __init__(self, mean=tuple(255.0 * m for m in IMAGENET_MEAN), std=tuple(255.0 * s for s in IMAGENET_STD)):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))

    def forward(self, x):
        return (x.permute(0, 3, 1, 2) - self.mean) / self.std
