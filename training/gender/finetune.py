"""Fine-tune the rebuilt dlib/Cydral gender network on UTKFace train faces made by the real pipeline.

Train chips: each UTKFace train image goes through the face detector as at inference, then
VARIANTS degraded copies are aligned with lookmatch.gender.face_chip: the photo shrunk so the
eyes are 8..60 px apart (street photos show faces far smaller than UTKFace's ~62 px), sometimes
re-encoded as a low-quality JPEG, the eye keypoints jittered (the detector's error on small
faces). Random flips and brightness/contrast jitter on the fly. PETA train faces found by the
pipeline (tiny, surveillance) are added as they are.
Model selection: best accuracy on UTKFace val + utkface40 val (never the test split).

Run (after baseline.py and chips.py):
    .venv-train/bin/python training/gender/finetune.py     (~21 min on 2 cores shared with other jobs)
Writes training/cache/gender/finetuned.pt and the training log.
"""
from __future__ import annotations

import io
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from net import GenderNet, scale  # noqa: E402

from lookmatch.face import Face, FaceDetector  # noqa: E402
from lookmatch.gender import eye_distance, face_chip  # noqa: E402
from lookmatch.images import load_image  # noqa: E402
from lookmatch.regions import Box  # noqa: E402

CACHE = Path(__file__).resolve().parents[1] / "cache" / "gender"
VARIANTS = 8
EPOCHS = 6
SEED = 0


def degraded_chips(paths: list[str], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """VARIANTS chips per image (the first clean), and the image index of each chip."""
    detector = FaceDetector()
    chips, index = [], []
    for i, path in enumerate(paths):
        rgb = load_image(path)
        faces = detector.detect_in_box(rgb, Box(x0=0, y0=0, x1=rgb.shape[1], y1=rgb.shape[0]))
        if not faces:
            continue
        face = faces[0]
        eye = eye_distance(face)
        for v in range(VARIANTS):
            img, kps = rgb, face.keypoints.copy()
            if v > 0:
                target = np.exp(rng.uniform(np.log(8), np.log(60)))  # eye distance after shrinking
                f = min(1.0, target / eye)
                size = (max(8, round(rgb.shape[1] * f)), max(8, round(rgb.shape[0] * f)))
                img = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
                kps = kps * (size[0] / rgb.shape[1])
                if rng.random() < 0.5:
                    buf = io.BytesIO()
                    Image.fromarray(img).save(buf, "JPEG", quality=int(rng.integers(30, 90)))
                    img = np.asarray(Image.open(buf).convert("RGB"))
                kps = kps + rng.normal(0, 0.05 * eye * f, kps.shape)
            chips.append(face_chip(img, Face(face.box, kps, face.score)))
            index.append(i)
        if i % 500 == 0:
            print(f"augment {i}/{len(paths)}", flush=True)
    return np.stack(chips), np.asarray(index)


def jitter(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Flip half the batch, jitter brightness and contrast (x: NHWC 0..255 floats)."""
    n = x.shape[0]
    flip = torch.rand(n, generator=gen) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(2), x)
    gain = 1 + (torch.rand(n, 1, 1, 1, generator=gen) - 0.5) * 0.5
    bias = (torch.rand(n, 1, 1, 1, generator=gen) - 0.5) * 50
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return ((x - mean) * gain + mean + bias).clamp(0, 255)


def accuracy(net: GenderNet, chips: np.ndarray, y: np.ndarray) -> float:
    net.eval()
    with torch.no_grad():
        p = net(scale(torch.from_numpy(chips.astype(np.float32)))).argmax(1).numpy()
    return float((p == y).mean())


def split_arrays(name: str, split: str):
    """Chips and labels (1 = male) of every face found in one split of a chips.py cache."""
    d = np.load(CACHE / f"chips_{name}.npz")
    m = (d["split"] == split) & d["found"]
    return d["chips"][m], (d["label"][m] == "male").astype(np.int64), d


def main() -> None:
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    start = time.time()
    aug_file = CACHE / "train_augmented.npz"
    u = np.load(CACHE / "chips_utkface.npz")
    train = u["split"] == "train"
    if aug_file.is_file():
        a = np.load(aug_file)
        x, y = a["chips"], a["y"]
    else:
        chips, index = degraded_chips(list(u["path"][train]), rng)
        x, y = chips, (u["label"][train][index] == "male").astype(np.int64)
        np.savez_compressed(aug_file, chips=x, y=y)
    px, py, _ = split_arrays("peta", "train")
    x, y = np.concatenate([x, px]), np.concatenate([y, py])
    print(f"train chips: {len(x)} (utkface {len(x) - len(px)}, peta {len(px)}), "
          f"male share {y.mean():.3f}, {time.time() - start:.0f}s", flush=True)
    vals = {n: split_arrays(n, "val")[:2] for n in ("utkface", "utkface40")}

    net = GenderNet()
    net.load_state_dict(torch.load(CACHE / "baseline.pt"))
    net.dropout.p = 0.2
    base = {n: accuracy(net, *v) for n, v in vals.items()}
    print("baseline val:", base, flush=True)
    opt = torch.optim.AdamW(net.parameters(), lr=3e-4, weight_decay=1e-4)
    steps = EPOCHS * (len(x) // 128)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-4, total_steps=steps, pct_start=0.1)
    gen = torch.Generator().manual_seed(SEED)
    xt, yt = torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y)
    best, best_score = None, -1.0
    for epoch in range(EPOCHS):
        net.train()
        order = torch.randperm(len(xt), generator=gen)
        total = 0.0
        for b in range(len(xt) // 128):
            idx = order[b * 128:(b + 1) * 128]
            loss = torch.nn.functional.cross_entropy(net.logits(scale(jitter(xt[idx], gen))), yt[idx],
                                                     label_smoothing=0.05)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach())
        acc = {n: accuracy(net, *v) for n, v in vals.items()}
        score = sum(acc.values()) / len(acc)
        print(f"epoch {epoch + 1}: loss {total / (len(xt) // 128):.4f} val {acc} ({time.time() - start:.0f}s)",
              flush=True)
        if score > best_score:
            best_score, best = score, {k: v.clone() for k, v in net.state_dict().items()}
    torch.save(best, CACHE / "finetuned.pt")
    print(f"best mean val accuracy {best_score:.4f} (baseline {sum(base.values()) / len(base):.4f}); "
          f"wrote {CACHE / 'finetuned.pt'} in {time.time() - start:.0f}s")


if __name__ == "__main__":
    main()
