"""Gender figures on held-out data (test splits; val only where a rule is fitted), through TFLite.

Reads the chips that training/gender/chips.py made by the real inference path and prints, per
dataset: how often a usable face is found (lookmatch.gender.usable_face rules), accuracy on those
faces for the pretrained baseline (float), ours float and ours int8 (the shipped model), the
confusion matrix of the shipped model, accuracy by eye distance (all faces found, thresholds
aside), and for PETA the whole
pipeline with the body fallback (GarmentModel.body_gender on the whole-body box).

Run: .venv/bin/python training/gender/evaluate.py [--split test]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from lookmatch import gender as G
from lookmatch.contract import GENDERS
from lookmatch.runtime import TFLiteModel

CACHE = Path(__file__).resolve().parents[1] / "cache" / "gender"
# (name, file, mirror-averaged): the baseline as its package runs it (one read), and with the
# mirror averaging lookmatch.gender does, so the comparison is fair both ways.
MODELS = (
    ("baseline float", CACHE / "baseline_float.tflite", False),
    ("baseline float+mirror", CACHE / "baseline_float.tflite", True),
    ("ours float", CACHE / "finetuned_float.tflite", True),
    ("ours int8", G.MODEL_FILE, True),
)
DATASETS = ("utkface", "utkface40", "utkface24", "utkface20", "utkface16", "peta", "ccp")


def probabilities(model: TFLiteModel, chips: np.ndarray, mirror: bool = True) -> np.ndarray:
    if not len(chips):
        return np.zeros((0, 2))
    p = np.concatenate([model(c[None].astype(np.float32))[0] for c in chips])
    if mirror:
        p = (p + np.concatenate([model(c[None, :, ::-1].astype(np.float32))[0] for c in chips])) / 2
    return p


def usable(d) -> np.ndarray:
    return d["found"] & (d["score"] >= G.FACE_SCORE) & (d["eye_dist"] >= G.MIN_EYE_DIST)


def confusion(y: np.ndarray, pred: np.ndarray) -> str:
    lines = ["            pred female  pred male"]
    for i, name in enumerate(GENDERS):
        row = [int(((y == i) & (pred == j)).sum()) for j in range(2)]
        lines.append(f"  {name:>7}  {row[0]:>11}  {row[1]:>9}   recall {row[i] / max(1, sum(row)):.3f}")
    return "\n".join(lines)


def body_readings(d, mask: np.ndarray, garments_file: str | None):
    """GarmentModel.body_gender on the whole-body box of each selected image, or None if unavailable."""
    try:
        from lookmatch.garments import GarmentModel

        garments = GarmentModel(garments_file) if garments_file else GarmentModel()
    except (ImportError, RuntimeError) as err:  # RuntimeError: runtime.ModelMissing
        print(f"  (body fallback not measured: {err})")
        return None
    from lookmatch.images import load_image

    out = {}
    for i in np.flatnonzero(mask):
        x0, y0, x1, y1 = d["whole"][i]
        if x0 < 0:
            continue
        out[i] = garments.body_gender(load_image(str(d["path"][i]))[y0:y1, x0:x1])
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", default="test", choices=("val", "test"))
    parser.add_argument("--garments", help="garment model file for the body fallback (default: the shipped one)")
    args = parser.parse_args()
    loaded = {path: TFLiteModel(path) for _, path, _ in MODELS}
    for name in DATASETS:
        d = np.load(CACHE / f"chips_{name}.npz")
        split = d["split"] == args.split
        if not split.any():
            continue
        y = (d["label"] == "male").astype(int)
        ok = split & usable(d)
        if not (CACHE / f"chips_{name}.npz").is_file():
            print(f"\n== {name}: no chips (run chips.py {name})")
            continue
        print(f"\n== {name} {args.split}: {split.sum()} images, person {d['person'][split].mean():.3f}, "
              f"head box {d['head'][split].mean():.3f}, any face {d['found'][split].mean():.3f}, "
              f"usable face {ok.sum() / split.sum():.3f} ({ok.sum()})")
        preds = {}
        for mname, path, mirror in MODELS:
            t = time.time()
            p = probabilities(loaded[path], d["chips"][ok], mirror)
            preds[mname] = p
            acc = (p.argmax(1) == y[ok]).mean() if ok.any() else float("nan")
            print(f"  {mname:>21}: accuracy on usable faces {acc:.4f}  ({(time.time() - t) / max(1, ok.sum()) * 1e3:.2f} ms/face)")
        ours = preds["ours int8"].argmax(1)
        if ok.any():
            print(f"  int8 vs float agreement {(ours == preds['ours float'].argmax(1)).mean():.4f}")
            print("  confusion (ours int8, usable faces):\n" + confusion(y[ok], ours))
        if ok.any():
            sure = preds["ours int8"].max(1)
            for lo, hi in ((0.5, 0.65), (0.65, 0.8), (0.8, 1.01)):
                m = (sure >= lo) & (sure < hi)
                if m.any():
                    print(f"    ours int8 p in [{lo:.2f}, {min(hi, 1):.2f}): {m.sum():>4} faces, "
                          f"accuracy {(ours[m] == y[ok][m]).mean():.3f}")
        # accuracy by eye distance, all faces found (thresholds aside)
        found = split & d["found"]
        if found.any():
            p_all = probabilities(loaded[G.MODEL_FILE], d["chips"][found]).argmax(1)
            p_base = probabilities(loaded[CACHE / "baseline_float.tflite"], d["chips"][found], False).argmax(1)
            eyes = d["eye_dist"][found]
            print("  by eye distance (px)   n   baseline  ours int8")
            for lo, hi in ((0, 4), (4, 6), (6, 8), (8, 12), (12, 20), (20, 40), (40, 1e9)):
                m = (eyes >= lo) & (eyes < hi)
                if m.any():
                    print(f"    [{lo:>3}, {hi:>5.0f})  {m.sum():>5}   {(p_base[m] == y[found][m]).mean():.3f}     "
                          f"{(p_all[m] == y[found][m]).mean():.3f}")
        if name in ("peta", "ccp"):
            body = body_readings(d, split & ~ok, args.garments)
            if body is not None:
                right = int((ours == y[ok]).sum())
                idx = np.flatnonzero(split & ~ok)
                body_right = sum(GENDERS.index(body[i].label) == y[i] for i in idx if i in body)
                print(f"  body fallback: {len(body)}/{len(idx)} without a usable face have a whole box; "
                      f"body accuracy {body_right / max(1, len(body)):.4f}")
                print(f"  overall (face, else body; no reading counts wrong): {(right + body_right) / split.sum():.4f}"
                      f"; on the {len(body) + ok.sum()} with a reading: {(right + body_right) / (len(body) + ok.sum()):.4f}")


if __name__ == "__main__":
    main()
