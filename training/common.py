"""Small helpers shared by the training scripts (torch side)."""
from __future__ import annotations

import torch
from torch import nn

from mobilenet_v2 import IMAGENET_MEAN, IMAGENET_STD


class NHWCImageInput(nn.Module):
    """Takes what the runtime feeds: NHWC float RGB in 0..255; gives NCHW ImageNet-normalised."""

    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1) * 255.0)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) * 255.0)

    def forward(self, x):
        return (x.permute(0, 3, 1, 2) - self.mean) / self.std
