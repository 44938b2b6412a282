"""Train the garment model on the cached crops and export it (float and full int8).

Input: training/cache/crops_{ccp,peta,clothing}.npz (training/cache_crops.py: the real pose
pipeline's boxes with some context around them). Steps:
1. Fine-tune an ImageNet backbone (MobileNetV2, or EfficientNet-Lite0 with --backbone) end to
   end at SIZE px, but for its first blocks (edges and colours: frozen, BatchNorm statistics
   too), with augmentation on every batch: the crop box jittered in position and size inside its
   stored context, mirrored half the time, brightness / contrast / saturation jitter. Four
   linear heads on the pooled 1280-d feature: upper (5), lower (4), whole (3), gender (2). A
   crop trains only the heads it is labelled for (its own region; the whole-body crop also
   gender). Class-weighted cross-entropy (inverse square root of class frequency) for upper and
   lower (macro recall targets); whole and gender unweighted; PETA's whole labels count a fifth
   (WHOLE_WEIGHT). Label smoothing 0.1. Val is scored on an exponential moving average of the
   weights (EMA_DECAY); the epoch with the best val score is kept (val = pipeline crops of val
   photos, exactly as at inference). With --with-val the val crops are trained on as well (a
   recipe fixed on val, refitted on all but test): no val score, the last epoch is kept.
   Auxiliary task (not exported): on ccp crops whose photo has a hand-drawn mask, a 1x1
   convolution on the last feature map (6 x 6 cells) names the garment part each cell holds
   (cache_crops.PART_NAMES: the contract's labels, skin, other), against the share of each part
   among the cell's mask pixels, cut with the same jitter and mirror as the image. Dense
   supervision of where the dress, the trousers and the jacket are, on top of one label a crop.
2. Embedding: PCA of the pooled feature to 128 dims, fitted on train crops with the directions a
   mirror image moves most left out (MIRROR_DIRECTIONS), L2-normalised (a linear layer inside the
   exported model): generic look similarity, not only the class.
3. Export: float .tflite (reference, training/cache/) and full-int8 .tflite calibrated on real
   train crops of people, the pipeline's crops of ccp and PETA photos
   (layers/models/garments_int8.tflite; with --name, an experiment's files in training/cache/).
Test crops are never read here. Progress goes to stdout (one line per ~100 batches).
Run: .venv-train/bin/python training/train_garments.py [--epochs N] [--backbone B --name NAME]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

sys.path.insert(0, str(Path(__file__).parent))
from common import NHWCImageInput  # noqa: E402
from export_tflite import OBSERVERS, export_tflite  # noqa: E402
from efficientnet_lite import INPUT_MEAN, INPUT_STD, efficientnet_lite0_imagenet  # noqa: E402
from mobilenet_v2 import mobilenet_v2_imagenet  # noqa: E402

HERE = Path(__file__).parent
CACHE = HERE / "cache"
MODELS = HERE.parent / "layers" / "models"
HEADS = {"upper": 5, "lower": 4, "whole": 3, "gender": 2}
SIZE = 192  # = lookmatch.garments.INPUT_SIZE
EMBEDDING = 128
BACKBONES = ("mobilenet_v2", "efficientnet_lite0")
SHIPPED_NAME = "garments"  # lookmatch.garments.MODEL_FILE = SHIPPED_NAME + "_int8.tflite"
EPOCHS, BATCH = 8, 48
LR_HEADS, LR_BACKBONE = 2e-3, 5e-4
# int8 calibration: real train crops of people (the pipeline's ccp and PETA crops, what the model
# reads at run time). 200 left int8 1.5-2.5 points under float (run 1); 600 drawn from every train
# crop (product photos and PETA's fallback bands too) left PETA val upper and gender 2-9 points
# under float (runs 5 and 6).
CALIBRATION = 600
SEED = 0
# Heads trained without class weights: `whole` is scored on accuracy, and weighting it made
# street-photo separates come out as dresses (val whole accuracy 0.57 against 0.87 unweighted).
UNWEIGHTED = ("whole", "gender")
# Weight of each dataset's crops in the whole head's loss. PETA's whole label (separates, from its
# trouser attributes) at full weight taught the head the dataset's look instead of the garment
# (run 1); left out, more pedestrians came out as "dress" (run 6, PETA test whole -3.8) and int8
# lost 3.3 points to float on PETA's whole crops. A fifth keeps it as a prior on the look.
WHOLE_WEIGHT = {"ccp": 1.0, "clothing": 1.0, "peta": 0.2}
# PETA's crops in the upper and lower heads' losses (--peta-weight, and --peta-upper-weight for
# the upper head alone; run 14's recipe: 1.0 for both)
PETA_WEIGHT = 1.0
# The weights are averaged over the last ~200 steps (about an epoch) for val and export: the raw
# weights' val figures swung from one epoch to the next (run 6: whole accuracy by up to 14 points,
# lower macro recall by up to 8.6).
EMA_DECAY = 0.995
# Weight of the auxiliary parts loss (mean over the masked crops of a batch, about 1 in 7) against
# the heads' losses (summed over the heads a crop is labelled for).
PARTS_WEIGHT = 0.5
# Share of the people's whole-body and lower crops that lose the bottom of their box in training
# (`views`, `cut`): photos framed from the knees up. 0 = run 14's recipe.
CUT = 0.0
# Mixup (`--mixup A`): each crop blended with another crop of the same region, its share drawn
# from Beta(A, A) and taken >= 0.5 (the crop stays the larger part), the labels blended alike
# (Zhang et al. 2018). 0 = run 14's recipe. Why: on run 14 the train crops read 97-98% right and
# the val crops 75-87%: the heads learn the 1,287 ccp photos by heart.
MIXUP = 0.0
# Directions of the pooled feature left out of the embedding: those a mirror image moves most
# (on run 14's train crops the first 16 hold 73% of that movement). With the plain PCA, float
# found a ccp whole-body crop's own mirror image first for only 69.5% of val crops; without those
# directions 100%, and PETA's same-person ranking (int8) rose from 65.3 to 70.4% (model card, "An
# embedding that ignores a mirror").
MIRROR_DIRECTIONS = 16
PART_COUNT, NO_MASK = 13, 255  # = len(cache_crops.PART_NAMES) (checked on load), cache_crops.NO_MASK
PARTS_SIDE = 24  # mask pixels sampled per side of a crop: 4 per cell of the last map (6 x 6),
# 2 per cell of the stride-16 map (12 x 12; --parts-at mid, MobileNetV2 only: features[4:14])
PARTS_MID_BLOCKS = 10  # the tail's first blocks, to stride 16 (96 channels)


class GarmentNet(nn.Module):
    """NHWC 0..255 crop -> (upper, lower, whole, gender logits, unit embedding)."""

    def __init__(self, backbone: str, parts_at: str = "last"):
        super().__init__()
        if parts_at == "mid" and backbone != "mobilenet_v2":
            raise ValueError("--parts-at mid is for mobilenet_v2 only")
        self.parts_at = parts_at
        # stem = the stride-2/4 layers, frozen as on ImageNet (MobileNetV2: a third of the compute)
        if backbone == "mobilenet_v2":
            net = mobilenet_v2_imagenet()
            self.input = NHWCImageInput()
            self.stem, self.tail = net.features[:4], net.features[4:]
        elif backbone == "efficientnet_lite0":
            net = efficientnet_lite0_imagenet()
            self.input = NHWCImageInput(INPUT_MEAN, INPUT_STD)
            self.stem = nn.Sequential(net._conv_stem, net._bn0, nn.ReLU6(), *net._blocks[:3])
            self.tail = nn.Sequential(*net._blocks[3:], net._conv_head, net._bn1, nn.ReLU6())
        else:
            raise ValueError(f"unknown backbone {backbone!r}: one of {BACKBONES}")
        self.dropout = nn.Dropout(0.2)
        self.heads = nn.ModuleDict({h: nn.Linear(1280, n) for h, n in HEADS.items()})
        self.embedding = nn.Linear(1280, EMBEDDING)  # set from PCA after training
        # the auxiliary task only; not exported
        self.parts = nn.Conv2d(96 if parts_at == "mid" else 1280, PART_COUNT, 1)

    def parts_and_final_maps(self, x):
        """(the map the parts head reads, the last feature map)."""
        x = self.stem(self.input(x))
        if self.parts_at == "mid":
            mid = self.tail[:PARTS_MID_BLOCKS](x)
            return mid, self.tail[PARTS_MID_BLOCKS:](mid)
        final = self.tail(x)
        return final, final

    def pooled(self, x):
        return F.adaptive_avg_pool2d(self.parts_and_final_maps(x)[1], 1).flatten(1)

    def forward(self, x):
        p = self.pooled(x)
        logits = [self.heads[h](p) for h in HEADS]
        return (*logits, F.normalize(self.embedding(p), dim=1))


def load_cache():
    parts, part_names = {}, None
    for ds in ("ccp", "peta", "clothing"):
        path = CACHE / f"crops_{ds}.npz"
        if not path.is_file():
            raise FileNotFoundError(f"{path} missing: run training/cache_crops.py first")
        z = np.load(path)
        if "inner" not in z.files:
            raise ValueError(f"{path} is from an older cache_crops.py (no context): run it again")
        keep = z["split"] != "test"  # test crops never enter training
        parts[ds] = {k: z[k][keep] for k in z.files if k != "part_names"}
        parts[ds]["dataset"] = np.full(keep.sum(), ds)
        if ds == "ccp" and "part_names" in z.files:
            part_names = z["part_names"]
    if part_names is None:
        raise ValueError("crops_ccp.npz has no masks (`parts`): run training/cache_crops.py ccp again")
    if len(part_names) != PART_COUNT:
        raise ValueError(f"crops_ccp.npz names {len(part_names)} parts, not {PART_COUNT}: update PART_COUNT")
    side = parts["ccp"]["parts"].shape[1]
    for p in parts.values():  # masks are ccp's only: the others get a NO_MASK view of the same size
        p.setdefault("parts", np.full((len(p["split"]), side, side), NO_MASK, np.uint8))
    return {k: np.concatenate([p[k] for p in parts.values()]) for k in parts["ccp"]}


def views(x_uint8: torch.Tensor, inner: torch.Tensor, augment: bool, gen: torch.Generator | None = None,
          parts: torch.Tensor | None = None, cut: torch.Tensor | None = None):
    """(N, S, S, 3) uint8 stored views -> (N, SIZE, SIZE, 3) float 0..255 model inputs.

    Without augment: exactly the inner box (the pipeline's crop). With it: the box moved by up to
    8% and rescaled by 0.85-1.15 on each axis (kept inside the view), mirrored half the time,
    and colour jitter; the rows where `cut` ((N,) bool) is true lose the bottom 15-45% of the box,
    as a photo framed from the knees up gives the pipeline (the box runs to the picture's edge).
    One affine grid_sample for the whole batch. With `parts` ((N, M, M) uint8 part views), also
    the same cut of them, (N, PARTS_SIDE, PARTS_SIDE), nearest.
    """
    n = len(x_uint8)
    x = x_uint8.permute(0, 3, 1, 2).float()
    x0, y0, x1, y1 = inner.unbind(1)
    cx, cy, w, h = (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0
    if augment:
        def u(lo, hi):
            return lo + (hi - lo) * torch.rand(n, generator=gen)

        cx, cy = cx + u(-0.08, 0.08) * w, cy + u(-0.08, 0.08) * h
        w, h = (w * u(0.85, 1.15)).clamp(max=1.0), (h * u(0.85, 1.15)).clamp(max=1.0)
        cx = torch.maximum(torch.minimum(cx, 1 - w / 2), w / 2)
        cy = torch.maximum(torch.minimum(cy, 1 - h / 2), h / 2)
        if cut is not None:  # keep the top of the box
            kept = torch.where(cut, u(0.55, 0.85), torch.ones(n))
            cy, h = cy - h * (1 - kept) / 2, h * kept
    sx = torch.where(torch.rand(n, generator=gen) < 0.5, -w, w) if augment else w
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 2] = sx, 2 * cx - 1
    theta[:, 1, 1], theta[:, 1, 2] = h, 2 * cy - 1
    grid = F.affine_grid(theta, (n, 3, SIZE, SIZE), align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    if parts is not None:
        grid = F.affine_grid(theta, (n, 1, PARTS_SIDE, PARTS_SIDE), align_corners=False)
        parts = F.grid_sample(parts[:, None].float(), grid, mode="nearest", padding_mode="border",
                              align_corners=False)[:, 0].round().long()
    if augment:
        mean = out.mean(dim=(1, 2, 3), keepdim=True)
        out = (out - mean) * u(0.75, 1.25).view(n, 1, 1, 1) + mean  # contrast
        out = out * u(0.75, 1.25).view(n, 1, 1, 1)  # brightness
        gray = out.mean(dim=1, keepdim=True)
        out = (out - gray) * u(0.7, 1.3).view(n, 1, 1, 1) + gray  # saturation
        out = out.clamp(0, 255)
    out = out.permute(0, 2, 3, 1)
    return out if parts is None else (out, parts)


def parts_loss(logits: torch.Tensor, parts: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor | None:
    """Cross-entropy of the parts head's cells (N, P, C, C) against each cell's share of every part
    among its sampled mask pixels ((N, C * s, C * s) indices, NO_MASK not counted); cells without
    a counted pixel are left out. `weight` ((N,), mixup's shares): a weighted mean over the cells.
    None when no cell counts."""
    classes, samples = logits.shape[1], parts.shape[1] // logits.shape[2]
    valid = parts != NO_MASK
    onehot = F.one_hot(parts.clamp(max=classes - 1), classes).float() * valid[..., None]
    # (N, C*s, C*s, P) -> per cell sums (N, P, C, C)
    counts = F.avg_pool2d(onehot.permute(0, 3, 1, 2), samples) * samples ** 2
    total = counts.sum(1)
    keep = total > 0
    if not keep.any():
        return None
    target = counts / total.clamp(min=1)[:, None]
    per_cell = -(target * F.log_softmax(logits, dim=1)).sum(1)
    if weight is None:
        return per_cell[keep].mean()
    cell_weight = weight[:, None, None].expand_as(per_cell)[keep]
    return (per_cell[keep] * cell_weight).sum() / cell_weight.sum().clamp(min=1e-6)


def mixup_partners(regions: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """For each crop of a batch, the index of another crop of the same region (a random
    permutation within each region; a crop alone in its region is its own partner)."""
    partner = torch.arange(len(regions))
    for region in regions.unique():
        at = (regions == region).nonzero().flatten()
        partner[at] = at[torch.randperm(len(at), generator=gen)]
    return partner


def head_loss(logits: torch.Tensor, terms, class_weight: torch.Tensor | None) -> torch.Tensor | None:
    """Cross-entropy (label smoothing 0.1) against one or more (labels, per-crop weights) terms,
    normalised as F.cross_entropy's mean: by the summed weight of the labelled crops (times their
    class's weight). With one term of weights 1 it is exactly the mean with ignore_index=-1; with
    mixup the terms are the crop's labels at share lam and its partner's at 1 - lam.
    None when no crop is labelled."""
    losses, weights = [], []
    for y, weight in terms:
        keep = (y >= 0) & (weight > 0)
        if not keep.any():
            continue
        per_crop = F.cross_entropy(logits[keep], y[keep], weight=class_weight, label_smoothing=0.1,
                                   reduction="none")  # already times the class weight
        losses.append((weight[keep] * per_crop).sum())
        weights.append((weight[keep] * (1.0 if class_weight is None else class_weight[y[keep]])).sum())
    return sum(losses) / sum(weights) if losses else None


def class_weights(y, n):
    """Inverse square root of class frequency, mean 1: lifts rare classes (macro recall) without
    the false alarms full inverse weighting gives a class with 40 examples (jumpsuit)."""
    counts = np.bincount(y[y >= 0], minlength=n).astype(np.float64)
    w = 1.0 / np.sqrt(np.maximum(counts, 1))
    return torch.tensor(w / w.mean(), dtype=torch.float32)


@torch.no_grad()
def pooled_features(model, x, inner, batch=128):
    model.eval()
    return torch.cat([model.pooled(views(x[i:i + batch], inner[i:i + batch], augment=False))
                      for i in range(0, len(x), batch)])


def evaluate(model, x, inner, ys):
    """Per head: accuracy and macro recall on the labelled rows."""
    p = pooled_features(model, x, inner)
    res = {}
    for h, n in HEADS.items():
        pred, y = model.heads[h](p).argmax(1).numpy(), ys[h]
        m = y >= 0
        rec = [float((pred[m & (y == c)] == c).mean()) for c in range(n) if (m & (y == c)).any()]
        res[h] = (float((pred[m] == y[m]).mean()), float(np.mean(rec)))
    return res


@torch.no_grad()
def fit_embedding(model, x_tr, in_tr):
    """The embedding layer := PCA of the pooled features of the train crops (whitening off), after
    projecting out the MIRROR_DIRECTIONS along which a crop's mirror image moves its feature most
    (top singular vectors of feature(crop) - feature(mirror)). Still one linear layer: weight C P,
    bias -C P mean, with P the projection and C the PCA of the projected features."""
    pooled = pooled_features(model, x_tr, in_tr)
    x0, y0, x1, y1 = in_tr.unbind(1)
    moved = pooled - pooled_features(model, x_tr.flip(2), torch.stack([1 - x1, y0, 1 - x0, y1], 1))
    _, _, mirror = torch.linalg.svd(moved - moved.mean(0), full_matrices=False)
    mirror = mirror[:MIRROR_DIRECTIONS]
    projection = torch.eye(pooled.shape[1]) - mirror.T @ mirror
    mean = pooled.mean(0)
    _, _, v = torch.linalg.svd((pooled - mean) @ projection, full_matrices=False)
    comps = v[:EMBEDDING] @ projection
    model.embedding.weight.copy_(comps)
    model.embedding.bias.copy_(-(comps @ mean))


def average_weights(names: list[str]) -> dict[str, torch.Tensor]:
    """The uniform average of the state dicts training/cache/NAME.pt (a "model soup"): runs
    fine-tuned from the same ImageNet weights stay close enough in weight space that their average
    reads like their ensemble, at one network's cost. BatchNorm statistics are averaged too;
    integer buffers (batch counters) are taken from the first."""
    states = [torch.load(CACHE / f"{n}.pt") for n in names]
    return {k: torch.stack([s[k] for s in states]).mean(0) if v.is_floating_point() else v
            for k, v in states[0].items()}


def val_line(res) -> str:
    """`evaluate`'s figures as one line: head accuracy/macro recall ..."""
    return " ".join(f"{h} {a:.3f}/{r:.3f}" for h, (a, r) in res.items())


def calibration_crops(x_tr, in_tr, people, count=CALIBRATION) -> torch.Tensor:
    """The int8 calibration images: `count` train crops of people (`people`: a mask of the rows of
    x_tr that may be drawn), drawn with SEED, as the pipeline crops them."""
    idx = np.sort(np.random.default_rng(SEED).choice(np.flatnonzero(people), count, replace=False))
    return views(x_tr[idx], in_tr[idx], augment=False).contiguous()


def export(model, x_tr, in_tr, people, name, calibration=CALIBRATION, observer="histogram"):
    """Float reference (training/cache/NAME_float.tflite) and full int8 (NAME_int8.tflite),
    calibrated on `calibration` train crops of people (`people`: the rows of x_tr that may be drawn). The int8
    file goes to layers/models/ (where the build packs every *_int8.tflite) only for the shipped
    name; an experiment's stays in training/cache/."""
    calib = calibration_crops(x_tr, in_tr, people, calibration)
    example = calib[:1]
    export_tflite(model, example, CACHE / f"{name}_float.tflite")
    print("float export done", flush=True)
    export_tflite(model, example, (MODELS if name == SHIPPED_NAME else CACHE) / f"{name}_int8.tflite",
                  calibration_batches=[calib[i:i + 50] for i in range(0, len(calib), 50)], observer=observer)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--backbone", choices=BACKBONES, default="mobilenet_v2")
    parser.add_argument("--name", default=SHIPPED_NAME,
                        help="file stem of the outputs: training/cache/NAME.pt, NAME_float.tflite, "
                             f"NAME_train_log.json and NAME_int8.tflite (in layers/models/ for {SHIPPED_NAME})")
    parser.add_argument("--parts-weight", type=float, default=PARTS_WEIGHT,
                        help="weight of the auxiliary parts loss (0: none)")
    parser.add_argument("--parts-at", choices=("last", "mid"), default="last",
                        help="the feature map the parts head reads: the last (6 x 6) or stride 16 (12 x 12)")
    parser.add_argument("--seed", type=int, default=SEED,
                        help="torch's seed: head initialisation, batch order, augmentation (to measure a "
                             "run's noise; the int8 calibration draw keeps SEED)")
    parser.add_argument("--export-only", action="store_true",
                        help="export training/cache/NAME.pt again (e.g. new calibration) without training")
    parser.add_argument("--peta-weight", type=float, default=PETA_WEIGHT, metavar="W",
                        help="weight of PETA's crops in the upper and lower heads' losses")
    parser.add_argument("--peta-upper-weight", type=float, metavar="W",
                        help="weight of PETA's crops in the upper head's loss (default: --peta-weight)")
    parser.add_argument("--cut", type=float, default=CUT,
                        help="share of the people's whole-body and lower crops cut short at the bottom in "
                             "training (photos framed from the knees up); 0: none")
    parser.add_argument("--mixup", type=float, default=MIXUP, metavar="A",
                        help="blend each crop with another of its region, share ~ Beta(A, A) (>= 0.5); 0: none")
    parser.add_argument("--calibration", type=int, default=CALIBRATION,
                        help="train crops of people the int8 export is calibrated on")
    parser.add_argument("--refit-embedding", action="store_true",
                        help="with --export-only: fit the embedding again (fit_embedding) and save NAME.pt first")
    parser.add_argument("--observer", choices=OBSERVERS, default="histogram",
                        help="how the int8 export reads each activation's range from the calibration crops")
    parser.add_argument("--with-val", action="store_true",
                        help="train on the val crops too (a fixed recipe refitted on all data but test): "
                             "no val score, the last epoch is kept; with --export-only, for a run trained so "
                             "(the calibration and embedding crops are drawn from the same rows)")
    parser.add_argument("--train-fraction", type=float, default=1.0, metavar="F",
                        help="train on a random share F of the train photos (all crops of a photo together; "
                             "drawn with SEED): a learning curve")
    parser.add_argument("--soup", nargs="+", metavar="RUN",
                        help="no training: average the weights of training/cache/RUN.pt (runs of one "
                             "recipe, other seeds), refit the embedding, score val, save and export as NAME")
    args = parser.parse_args()
    if not 0 < args.train_fraction <= 1:
        parser.error(f"--train-fraction must be in (0, 1], got {args.train_fraction}")
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    torch.set_num_threads(2)
    t0 = time.time()
    data = load_cache()
    train = np.isin(data["split"], ("train", "val") if args.with_val else ("train",))
    if args.train_fraction < 1.0:
        photo = np.char.add(np.char.add(data["dataset"].astype(str), "/"), data["key"].astype(str))
        photos = np.unique(photo[train])
        kept = photos[np.random.default_rng(SEED).random(len(photos)) < args.train_fraction]
        train &= np.isin(photo, kept)
        print(f"train photos kept: {len(kept)} of {len(photos)}", flush=True)
    val = (data["split"] == "val") & (data["source"] != "fallback")  # val like test: pipeline crops only
    print(f"crops: train {train.sum()}" + (" (val included)" if args.with_val else f", val {val.sum()}"),
          flush=True)
    x_tr, in_tr = torch.from_numpy(data["x"][train]), torch.from_numpy(data["inner"][train])
    x_va, in_va = torch.from_numpy(data["x"][val]), torch.from_numpy(data["inner"][val])
    parts_tr = torch.from_numpy(data["parts"][train])
    print(f"train crops with a mask: {int((parts_tr != NO_MASK).flatten(1).any(1).sum())}", flush=True)
    ys_tr = {h: data[f"y_{h}"][train] for h in HEADS}
    ys_va = {h: data[f"y_{h}"][val] for h in HEADS}
    y_tr = {h: torch.from_numpy(ys_tr[h]) for h in HEADS}
    weights = {h: None if h in UNWEIGHTED else class_weights(ys_tr[h], n) for h, n in HEADS.items()}
    # per-crop weight in each head's loss: PETA's whole labels count a fifth (WHOLE_WEIGHT), its
    # upper and lower ones --peta-weight (upper: --peta-upper-weight if given), every other label 1
    is_peta = torch.from_numpy(data["dataset"][train] == "peta")
    upper_weight = args.peta_weight if args.peta_upper_weight is None else args.peta_upper_weight
    head_weight = {"whole": torch.tensor([WHOLE_WEIGHT[ds] for ds in data["dataset"][train]], dtype=torch.float32),
                   "upper": torch.where(is_peta, upper_weight, 1.0),
                   "lower": torch.where(is_peta, args.peta_weight, 1.0), "gender": torch.ones(int(train.sum()))}
    people = (data["dataset"][train] != "clothing") & (data["source"][train] == "pose")
    # crops whose bottom a photo framed from the knees up cuts off: people's whole and lower boxes
    cuttable = torch.from_numpy(people & np.isin(data["region"][train], ("whole", "lower")))
    region_tr = torch.from_numpy(np.unique(data["region"][train], return_inverse=True)[1])
    # the label of each crop's own region (mixup pairs crops of one region, both labelled)
    own_label = torch.full((int(train.sum()),), -1, dtype=torch.long)
    for h in ("upper", "lower", "whole"):
        own = torch.from_numpy(data["region"][train] == h)
        own_label[own] = y_tr[h][own]

    model = GarmentNet(args.backbone, args.parts_at)
    if args.export_only:
        model.load_state_dict(torch.load(CACHE / f"{args.name}.pt"))
        if args.refit_embedding:
            fit_embedding(model.eval(), x_tr, in_tr)
            torch.save(model.state_dict(), CACHE / f"{args.name}.pt")
            print(f"embedding fitted again ({time.time() - t0:.0f} s)", flush=True)
        export(model.eval(), x_tr, in_tr, people, args.name, args.calibration, args.observer)
        print(f"done in {time.time() - t0:.0f} s", flush=True)
        return
    if args.soup:
        model.load_state_dict(average_weights(args.soup))
        fit_embedding(model.eval(), x_tr, in_tr)
        res = evaluate(model, x_va, in_va, ys_va)
        print("soup of " + " + ".join(args.soup) + ": val " + val_line(res), flush=True)
        torch.save(model.state_dict(), CACHE / f"{args.name}.pt")
        export(model, x_tr, in_tr, people, args.name, args.calibration, args.observer)
        print(f"done in {time.time() - t0:.0f} s", flush=True)
        return
    model = model.to(memory_format=torch.channels_last)
    for p in model.stem.parameters():
        p.requires_grad = False
    groups = [{"params": list(model.tail.parameters()), "lr": LR_BACKBONE},
              {"params": list(model.heads.parameters()) + list(model.parts.parameters()), "lr": LR_HEADS}]
    opt = torch.optim.AdamW(groups, weight_decay=1e-2)
    batches = len(x_tr) // BATCH
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[LR_BACKBONE, LR_HEADS],
                                                total_steps=args.epochs * batches, pct_start=0.15)
    ema = torch.optim.swa_utils.AveragedModel(
        model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(EMA_DECAY), use_buffers=True)
    best, best_state, history = -1.0, None, []
    for epoch in range(args.epochs):
        model.train()
        model.stem.eval()  # frozen blocks keep their ImageNet BatchNorm statistics
        order = torch.randperm(len(x_tr), generator=gen)
        total = 0.0
        for b in range(batches):
            idx = order[b * BATCH:(b + 1) * BATCH]
            # drawn only with --cut, so that --cut 0 keeps run 14's random stream (and its weights)
            cut = cuttable[idx] & (torch.rand(len(idx), generator=gen) < args.cut) if args.cut else None
            # the stem's parameters need no gradient, so autograd records nothing there
            images, parts = views(x_tr[idx], in_tr[idx], augment=True, gen=gen, parts=parts_tr[idx], cut=cut)
            share = torch.ones(len(idx))
            partner = torch.arange(len(idx))
            if args.mixup:  # drawn only with --mixup, like --cut
                partner = mixup_partners(region_tr[idx], gen)
                lam = torch.distributions.Beta(args.mixup, args.mixup).sample((len(idx),))
                # a crop whose partner has no label keeps its own picture
                share = torch.where(own_label[idx][partner] >= 0, torch.maximum(lam, 1 - lam), 1.0)
                images = share.view(-1, 1, 1, 1) * images + (1 - share.view(-1, 1, 1, 1)) * images[partner]
            parts_map, fmap = model.parts_and_final_maps(images)
            p = model.dropout(F.adaptive_avg_pool2d(fmap, 1).flatten(1))
            loss = 0.0
            if args.parts_weight:
                parts_logits = model.parts(parts_map)
                terms = [parts_loss(parts_logits, parts)] if not args.mixup else [
                    parts_loss(parts_logits, parts, share), parts_loss(parts_logits, parts[partner], 1 - share)]
                loss = sum(args.parts_weight * t for t in terms if t is not None)
            for h in HEADS:
                y = y_tr[h][idx]
                crop_weight = head_weight[h][idx]
                terms = [(y, share * crop_weight)]
                if args.mixup:
                    terms.append((y[partner], (1 - share) * crop_weight[partner]))
                head = head_loss(model.heads[h](p), terms, weights[h])
                if head is not None:
                    loss = loss + head
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            ema.update_parameters(model)
            total += float(loss.detach())
            if (b + 1) % 100 == 0:
                print(f"  epoch {epoch + 1} batch {b + 1}/{batches} loss {total / (b + 1):.3f} "
                      f"({time.time() - t0:.0f} s)", flush=True)
        history.append({"epoch": epoch + 1, "loss": total / batches})
        if args.with_val:  # val is trained on: no score, the last epoch is kept
            print(f"epoch {epoch + 1}: loss {history[-1]['loss']:.3f} ({time.time() - t0:.0f} s)", flush=True)
            continue
        res = evaluate(ema.module, x_va, in_va, ys_va)
        # = lookmatch.evaluation.Report.selection_score on crops (that package is not in this venv)
        score = res["upper"][1] + res["lower"][1] + res["whole"][1] + res["gender"][0]
        history[-1].update({h: {"acc": a, "macro_recall": r} for h, (a, r) in res.items()})
        print(f"epoch {epoch + 1}: loss {history[-1]['loss']:.3f} val {val_line(res)} score {score:.3f} "
              f"({time.time() - t0:.0f} s)", flush=True)
        if score > best:
            best, best_state = score, {k: v.clone() for k, v in ema.module.state_dict().items()}
    model.load_state_dict(ema.module.state_dict() if args.with_val else best_state)
    fit_embedding(model.eval(), x_tr, in_tr)
    model = model.to(memory_format=torch.contiguous_format)
    torch.save(model.state_dict(), CACHE / f"{args.name}.pt")
    export(model, x_tr, in_tr, people, args.name, args.calibration, args.observer)
    elapsed = time.time() - t0
    log = {"backbone": args.backbone, "history": history, "seconds": elapsed, "with_val": args.with_val,
           "train_crops": int(train.sum()), "val_crops": 0 if args.with_val else int(val.sum())}
    (CACHE / f"{args.name}_train_log.json").write_text(json.dumps(log, indent=1))
    print(f"done in {elapsed:.0f} s", flush=True)


if __name__ == "__main__":
    main()
