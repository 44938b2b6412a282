"""Which ImageNet backbone carries more garment information? A linear probe on frozen features.

For the ccp train and val crops (street photos; training/cache/crops_ccp.npz, exactly the
pipeline's boxes), the pooled features of MobileNetV2 and EfficientNet-Lite0, both as shipped on
ImageNet (no fine-tuning), at the model's input size; a logistic regression per head (upper /
lower balanced, whole not: as in training) fitted on train and scored on val. Test crops are not
read. This chose EfficientNet-Lite0 for the garment model (figures in layers/models/garments.md).
Run: .venv-train/bin/python training/compare_backbones.py   (~5 min on this machine)
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from torch.nn import functional as F

sys.path.insert(0, str(Path(__file__).parent))
from common import NHWCImageInput  # noqa: E402
from efficientnet_lite import INPUT_MEAN, INPUT_STD, efficientnet_lite0_imagenet  # noqa: E402
from mobilenet_v2 import mobilenet_v2_imagenet  # noqa: E402
from train_garments import CACHE, views  # noqa: E402


def backbones():
    mob = mobilenet_v2_imagenet().eval()
    eff = efficientnet_lite0_imagenet()
    yield "MobileNetV2", torch.nn.Sequential(NHWCImageInput(), mob.features)
    yield "EfficientNet-Lite0", torch.nn.Sequential(
        NHWCImageInput(INPUT_MEAN, INPUT_STD), eff._conv_stem, eff._bn0, torch.nn.ReLU6(), *eff._blocks,
        eff._conv_head, eff._bn1, torch.nn.ReLU6())


@torch.no_grad()
def features(net, x, inner, batch=64):
    return torch.cat([F.adaptive_avg_pool2d(net(views(x[i:i + batch], inner[i:i + batch], augment=False)), 1)
                      .flatten(1) for i in range(0, len(x), batch)]).numpy()


def main():
    torch.set_num_threads(2)
    z = np.load(CACHE / "crops_ccp.npz")
    keep = z["split"] != "test"
    d = {k: z[k][keep] for k in ("x", "inner", "split", "region", "y_upper", "y_lower", "y_whole")}
    x, inner = torch.from_numpy(d["x"]), torch.from_numpy(d["inner"])
    print("backbone            head   val acc  val macro recall")
    for name, net in backbones():
        f = features(net.eval(), x, inner)
        for head in ("upper", "lower", "whole"):
            y = d[f"y_{head}"]
            rows = (d["region"] == head) & (y >= 0)
            tr, va = rows & (d["split"] == "train"), rows & (d["split"] == "val")
            mu, sd = f[tr].mean(0), f[tr].std(0) + 1e-6
            clf = LogisticRegression(C=0.01, max_iter=2000, class_weight=None if head == "whole" else "balanced")
            pred = clf.fit((f[tr] - mu) / sd, y[tr]).predict((f[va] - mu) / sd)
            recall = np.mean([np.mean(pred[y[va] == c] == c) for c in np.unique(y[va])])
            print(f"{name:19s} {head:6s} {np.mean(pred == y[va]):7.1%} {recall:17.1%}", flush=True)


if __name__ == "__main__":
    main()
