"""Train the garment model on the cached crops and export it (float and full int8).

Input: training/cache/crops_{ccp,peta,clothing}.npz (training/cache_crops.py: the real pose
pipeline's crops, letterboxed as at inference). Steps:
1. Frozen stem: ImageNet MobileNetV2 features[:14] (to 10x10x96 at 160 px) run ONCE over every
   train/val crop (with --mirrors also its mirror image), cached as float16.
2. Fine-tune features[14:] (blocks 14-17 and the 1x1 conv to 1280; BatchNorm statistics frozen)
   + four linear heads on the pooled 1280-d feature: upper (5), lower (4), whole (3), gender (2). A crop trains only the heads it is
   labelled for (its own region; the whole-body crop also gender). Class-weighted cross-entropy
   (inverse square root of class frequency) for upper and lower (macro recall targets); whole and
   gender unweighted; whole learnt from ccp and clothing only. Early stopping on the val split.
3. Embedding: PCA of the pooled feature to 128 dims, fitted on train crops and product photos,
   L2-normalised (a linear layer inside the exported model): generic look similarity, not only
   the garment class.
4. Export: float .tflite (reference, training/cache/) and full-int8 .tflite calibrated on real
   train crops (layers/models/garments_int8.tflite).
Test crops are never read here. Run: .venv-train/bin/python training/train_garments.py
"""
from __future__ import annotations

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
from export_tflite import export_tflite  # noqa: E402
from mobilenet_v2 import mobilenet_v2_imagenet  # noqa: E402

HERE = Path(__file__).parent
CACHE = HERE / "cache"
MODELS = HERE.parent / "layers" / "models"
HEADS = {"upper": 5, "lower": 4, "whole": 3, "gender": 2}
SIZE, SPLIT_AT, EMBEDDING = 160, 14, 128
EPOCHS, BATCH, LR = 5, 64, 3e-3  # LR: heads; the fine-tuned blocks get LR / 10
CALIBRATION = 200
SEED = 0


class GarmentNet(nn.Module):
    """NHWC 0..255 crop -> (upper, lower, whole, gender logits, unit embedding)."""

    def __init__(self, backbone):
        super().__init__()
        self.input = NHWCImageInput()
        self.stem = backbone.features[:SPLIT_AT]
        self.tail = backbone.features[SPLIT_AT:]
        self.dropout = nn.Dropout(0.2)
        self.heads = nn.ModuleDict({h: nn.Linear(1280, n) for h, n in HEADS.items()})
        self.embedding = nn.Linear(1280, EMBEDDING)  # set from PCA after training

    def pooled_from_stem(self, s):
        return F.adaptive_avg_pool2d(self.tail(s), 1).flatten(1)

    def forward(self, x):
        p = self.pooled_from_stem(self.stem(self.input(x)))
        logits = [self.heads[h](p) for h in HEADS]
        return (*logits, F.normalize(self.embedding(p), dim=1))


def load_cache():
    parts = {}
    for ds in ("ccp", "peta", "clothing"):
        path = CACHE / f"crops_{ds}.npz"
        if not path.is_file():
            raise FileNotFoundError(f"{path} missing: run training/cache_crops.py first")
        z = np.load(path)
        keep = z["split"] != "test"  # test crops never enter training
        parts[ds] = {k: z[k][keep] for k in z.files}
        parts[ds]["dataset"] = np.full(keep.sum(), ds)
    return {k: np.concatenate([p[k] for p in parts.values()]) for k in parts["ccp"]}


@torch.no_grad()
def stem_features(model, x_uint8, mirrors=True, batch=128):
    """Frozen stem over images (and their mirrors after them): (2N or N, C, H, W) float16."""
    out = []
    for flip in (False, True) if mirrors else (False,):
        for i in range(0, len(x_uint8), batch):
            x = torch.from_numpy(x_uint8[i:i + batch]).float()
            if flip:
                x = x.flip(2)
            out.append(model.stem(model.input(x)).half())
            if i % (batch * 20) == 0:
                print(f"  stem {'flip' if flip else 'orig'} {i}/{len(x_uint8)}", flush=True)
    return torch.cat(out)


# Heads trained without class weights: `whole` is scored on accuracy, and weighting it made
# street-photo separates come out as dresses (val whole accuracy 0.57 against 0.87 unweighted).
UNWEIGHTED = ("whole", "gender")
# PETA's whole label (separates, from its trouser attributes) is left out of training: with every
# PETA photo "separates", the head learnt the dataset's look instead of the garment.
WHOLE_FROM = ("ccp", "clothing")


def class_weights(y, n):
    """Inverse square root of class frequency, mean 1: lifts rare classes (macro recall) without
    the false alarms full inverse weighting gives a class with 40 examples (jumpsuit)."""
    counts = np.bincount(y[y >= 0], minlength=n).astype(np.float64)
    w = 1.0 / np.sqrt(np.maximum(counts, 1))
    return torch.tensor(w / w.mean(), dtype=torch.float32)


def evaluate(model, feats, ys, batch=256):
    """Per head: accuracy and macro recall on the labelled rows."""
    model.eval()
    preds = {h: [] for h in HEADS}
    with torch.no_grad():
        for i in range(0, len(feats), batch):
            p = model.pooled_from_stem(feats[i:i + batch].float())
            for h in HEADS:
                preds[h].append(model.heads[h](p).argmax(1).numpy())
    res = {}
    for h, n in HEADS.items():
        y, p = ys[h], np.concatenate(preds[h])
        m = y >= 0
        rec = [float((p[m & (y == c)] == c).mean()) for c in range(n) if (m & (y == c)).any()]
        res[h] = (float((p[m] == y[m]).mean()), float(np.mean(rec)))
    return res


def main():
    global SPLIT_AT
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--mirrors", action="store_true", help="add mirror images (doubles the stem time)")
    parser.add_argument("--split-at", type=int, default=SPLIT_AT, help="first fine-tuned block of features[]")
    args = parser.parse_args()
    epochs = args.epochs
    SPLIT_AT = args.split_at
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    torch.set_num_threads(2)
    t0 = time.time()
    data = load_cache()
    train = data["split"] == "train"
    val = (data["split"] == "val") & (data["source"] != "fallback")  # val like test: pipeline crops only
    print(f"crops: train {train.sum()}, val {val.sum()}", flush=True)

    model = GarmentNet(mobilenet_v2_imagenet())
    model.eval()
    # Reused by later runs on the same crops (same crop files, same mirror setting).
    stem_cache = CACHE / f"stem_{SPLIT_AT}_{SIZE}.pt"
    stamp = [args.mirrors] + [(CACHE / f"crops_{ds}.npz").stat().st_mtime for ds in ("ccp", "peta", "clothing")]
    saved = torch.load(stem_cache) if stem_cache.is_file() else None
    if saved is not None and saved["stamp"] == stamp:
        feats_tr, feats_va = saved["train"], saved["val"]
    else:
        feats_tr = stem_features(model, data["x"][train], mirrors=args.mirrors)
        feats_va = stem_features(model, data["x"][val], mirrors=False)
        torch.save({"stamp": stamp, "train": feats_tr, "val": feats_va}, stem_cache)
    y_whole = np.where(np.isin(data["dataset"], WHOLE_FROM), data["y_whole"], -1)
    labels = {h: (y_whole if h == "whole" else data[f"y_{h}"]) for h in HEADS}
    ys_tr = {h: np.tile(labels[h][train], 2 if args.mirrors else 1) for h in HEADS}
    ys_va = {h: data[f"y_{h}"][val] for h in HEADS}
    print(f"stem features in {time.time() - t0:.0f} s", flush=True)

    weights = {h: None if h in UNWEIGHTED else class_weights(ys_tr[h], n) for h, n in HEADS.items()}
    for p in model.stem.parameters():
        p.requires_grad = False
    groups = [{"params": list(model.tail.parameters()), "lr": LR / 10},
              {"params": list(model.heads.parameters()), "lr": LR}]
    opt = torch.optim.AdamW(groups, weight_decay=1e-4)
    steps = epochs * (len(feats_tr) // BATCH)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[LR / 10, LR], total_steps=steps, pct_start=0.1)
    y_tr = {h: torch.from_numpy(ys_tr[h]) for h in HEADS}
    best, best_state, history = -1.0, None, []
    for epoch in range(epochs):
        model.train()
        model.tail.apply(lambda m: m.eval() if isinstance(m, nn.BatchNorm2d) else None)
        order = torch.randperm(len(feats_tr))
        total = 0.0
        for i in range(0, len(order) - BATCH + 1, BATCH):
            idx = order[i:i + BATCH]
            p = model.dropout(model.pooled_from_stem(feats_tr[idx].float()))
            loss = 0.0
            for h in HEADS:
                y = y_tr[h][idx]
                if (y >= 0).any():
                    loss = loss + F.cross_entropy(model.heads[h](p), y, weight=weights[h], ignore_index=-1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss)
        res = evaluate(model, feats_va, ys_va)
        score = res["upper"][1] + res["lower"][1] + res["whole"][1] + res["gender"][0]
        history.append({"epoch": epoch + 1, "loss": total / (len(order) // BATCH),
                        **{h: {"acc": a, "macro_recall": r} for h, (a, r) in res.items()}})
        print(f"epoch {epoch + 1}: loss {history[-1]['loss']:.3f} val "
              + " ".join(f"{h} {a:.3f}/{r:.3f}" for h, (a, r) in res.items())
              + f" ({time.time() - t0:.0f} s)", flush=True)
        if score > best:
            best, best_state = score, {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    model.eval()

    # Embedding: PCA of pooled features (train crops, unflipped), whitening off.
    with torch.no_grad():
        pooled = torch.cat([model.pooled_from_stem(feats_tr[i:i + 256].float())
                            for i in range(0, len(feats_tr) // (2 if args.mirrors else 1), 256)])
    mean = pooled.mean(0)
    _, _, v = torch.linalg.svd(pooled - mean, full_matrices=False)
    comps = v[:EMBEDDING]
    with torch.no_grad():
        model.embedding.weight.copy_(comps)
        model.embedding.bias.copy_(-(comps @ mean))

    example = torch.from_numpy(data["x"][:1]).float()
    torch.save(model.state_dict(), CACHE / "garments.pt")
    export_tflite(model, example, CACHE / "garments_float.tflite")
    print(f"float export done ({time.time() - t0:.0f} s)", flush=True)
    rng = np.random.default_rng(SEED)
    calib_idx = np.sort(rng.choice(np.flatnonzero(train), CALIBRATION, replace=False))
    calib = torch.from_numpy(data["x"][calib_idx]).float()
    export_tflite(model, example, MODELS / "garments_int8.tflite",
                  calibration_batches=[calib[i:i + 50] for i in range(0, len(calib), 50)])
    elapsed = time.time() - t0
    (CACHE / "train_log.json").write_text(json.dumps({"history": history, "seconds": elapsed,
                                                      "train_crops": int(train.sum()), "val_crops": int(val.sum())},
                                                     indent=1))
    print(f"done in {elapsed:.0f} s", flush=True)


if __name__ == "__main__":
    main()
