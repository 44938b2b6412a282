"""Fit the upper-body check: is the person's upper body in the picture, or did BlazePose make up a skeleton in the legs?

    .venv/bin/python training/fit_torso_check.py   # examples (cached) -> fit -> figures -> layers/models/torso_check.json

On a photo of the legs only, BlazePose often makes up a whole skeleton, squeezed into the legs
(scripts/eval_framing.py: on ccp val photos cut below the hips, 55% reported an upper garment, a
head and a gender). The detector's score, the landmark model's flag, a face in the head box and a
second read of the picture padded do not tell those from real pedestrians (they overlap PETA's
low-resolution back views; 2026-11-28, eighteenth session). What the crops show does: a logistic
regression on the garment model's embeddings of the upper-body and whole-body crops
(`lookmatch.garments.UpperBodyCheck`; the upper crop alone let 40% of made-up skeletons through).

Examples, each the crops `pipeline.classify` cuts from an upload of the picture, read by the
shipped garment model with its check switched off:
- real (1): the ccp photos as they are and cut "chest up" and "waist up"
  (`lookmatch.evaluation.FRAMINGS`); the PETA photos as they are (pedestrians, many from behind);
- made up (0): the crops of a skeleton found in ccp photos cut "hips down" and "thighs down", where
  the picture holds no upper body.
Fitted on train photos (the two classes weighted equally); its threshold set on out-of-fold train
scores to keep REAL_KEPT of the real examples; then scored on the val photos.

Its second part, the legs check (`UpperBodyCheck.legs`), asks of a skeleton without an upper body
whether its crops are legs (the Classify stage then reads the lower garment in them) or no one at
all. The same fit, on the same embeddings:
- legs (1): the made-up skeletons above;
- no one (0): the skeletons BlazePose finds in the clothing folder's product photos
  (`datasets.product_photos`) that the upper-body check rejects.
Its threshold keeps LEGS_KEPT of the legs, out of fold.

Its third part, the lower-garment check (`UpperBodyCheck.lower`), asks of a lower-body crop
whether it shows a lower garment. On a photo cut at the waist BlazePose squeezes the skeleton,
knees and all, into the picture, so the lower-body box is a sliver of waistband
(scripts/eval_framing.py "waist up": 4.0% of ccp val cuts reported a lower garment). A logistic
regression on the embeddings of the lower-body and the whole-body crops (on a waist-up cut the
whole-body crop stops at the waist; on a photo framed from the knees up it holds the thighs):
- a lower garment (1): the lower-body crops of the ccp and PETA photos as they are, and of the
  ccp photos cut at the knees and a little below them (LOWER_CUTS);
- none (0): those of the ccp photos cut "chest up" and at the hips + 0 to 0.2 of a torso
  (NO_LOWER_CUTS).
Its threshold keeps LOWER_KEPT of the real lower crops, out of fold.

Its fourth part, the product check (`UpperBodyCheck.product`), is asked only of a person found
without the detector (pose.PoseEstimator.detect_framed, a picture framed around one standing
person): a garment laid flat or hung up can stand as such a person, landmarks and all. A logistic
regression on the upper-body and whole-body crops' embeddings:
- a person (1): every real example of the upper-body check above;
- a product photo (0): the skeletons BlazePose finds in the train product photos (all of them).
Its threshold keeps REAL_KEPT of the people, out of fold. It is not asked of the people the
detector finds: fitted with product photos as made up, the upper-body check itself lost a real
woman in a long coat on val (model card, "The product check").
Writes
layers/models/torso_check.json with the garment model's fingerprint: the check applies to that
model's embeddings only, so rebuilding the garment model means running this again
(training/rebuild_garments.sh does). ~14 minutes to read the photos, ~6 for the product photos
and ~11 for the lower-body crops (21 minutes in all on 2026-11-29), cached in training/cache under
the garment model's fingerprint only: after a change to how poses are read (lookmatch.pose,
lookmatch.pipeline), delete training/cache/{torso,no_one,lower}_* so that they are read again.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from lookmatch import datasets
from lookmatch.config import model_dir
from lookmatch.evaluation import FRAMINGS, Rows, can_be_framed, cut, framed
from lookmatch.garments import TORSO_CHECK_FILE, GarmentModel, LinearCheck, UpperBodyCheck
from lookmatch.images import BadImage, load_image
from lookmatch.pipeline import PoseReading, garment_crops, read_file_pose, read_pose

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from eval_robustness import VARIANTS  # noqa: E402  (the upload copies the robustness figures use)

CACHE = Path(__file__).resolve().parent / "cache"
REAL_KEPT = 0.995  # share of real upper bodies the threshold keeps (out-of-fold, train)
LEGS_KEPT = 0.95  # share of the legs the legs check keeps (out-of-fold, train)
LOWER_KEPT = 0.995  # share of real lower-body crops the lower-garment check keeps (out-of-fold, train)
# Photos cut this many torso lengths below the hip line hold no lower garment to name (0.2 is
# FRAMINGS' "waist up"; regions.body_regions boxes a lower body without knees from half a torso on).
NO_LOWER_CUTS: dict[str, Rows] = {
    f"hips + {f} T": (lambda s, h, k, f=f: (None, h + f * (h - s))) for f in (0.0, 0.1, 0.2)
}
# Photos cut at the knees or a little below hold a lower garment cut short, as a photo framed
# from the knees up (eval_robustness "knees up"; without these the check took thighs for a
# waistband). Cuts at mid-thigh are left out: as examples of a garment they let most waistbands
# through (model card, "The lower-garment check").
LOWER_CUTS: dict[str, Rows] = {
    "knees": lambda s, h, k: (None, k),
    "knees + half a thigh": lambda s, h, k: (None, k + 0.5 * (k - h)),
}
# Every cut a ccp photo gives the lower-garment check, with its label (0 none, 1 a lower garment).
LABELLED_LOWER_CUTS: dict[str, tuple[Rows, int]] = {
    "chest up": (FRAMINGS["chest up"][0], 0),
    **{name: (rows_kept, 0) for name, rows_kept in NO_LOWER_CUTS.items()},
    **{name: (rows_kept, 1) for name, rows_kept in LOWER_CUTS.items()},
}
L2 = 1.0  # ridge penalty of the logistic regression
# --with-copies (tried, not shipped: model card): copies of each ccp photo as uploads can be, more
# kinds of real people: small and soft, dark, turned without its EXIF tag (the made-up cuts are
# then also read dark, so that dark is no sign of real).
REAL_COPIES = ("far away", "dark", "turned")


def crops_embeddings(rgb: np.ndarray, pose: PoseReading, garments: GarmentModel,
                     regions: tuple[str, ...] = ("upper", "whole")) -> dict[str, np.ndarray] | None:
    """The embeddings of the crops of `regions` that `classify` cuts from this picture and pose, as
    its checks read them (None without all of them). Read from the crops, not from a Reading: a
    Reading drops the whole-body garment of a picture cut above the hips."""
    if not pose.person:
        return None
    crops = garment_crops(rgb, pose)[2]
    if any(region not in crops for region in regions):
        return None
    return {region: np.array(garments.read(crops[region], region).embedding, np.float32) for region in regions}


def read_upload(rgb: np.ndarray, garments: GarmentModel) -> dict[str, np.ndarray] | None:
    """crops_embeddings of an upload of this picture (the working size: ccp photos are smaller)."""
    return crops_embeddings(rgb, read_pose(rgb), garments)


def read_upload_file(path: Path, garments: GarmentModel) -> dict[str, np.ndarray] | None:
    """crops_embeddings of a photo file read as an upload is (a person small in it is cropped from
    a larger decode: pipeline.read_file_pose)."""
    return crops_embeddings(*read_file_pose(path), garments)


def read_copy(bgr: np.ndarray, copy: str, garments: GarmentModel, folder: Path) -> dict[str, np.ndarray] | None:
    """crops_embeddings of the photo changed as eval_robustness's VARIANTS[copy], saved as a JPEG
    and read from the file as an upload is."""
    path = folder / "copy.jpg"
    cv2.imwrite(str(path), VARIANTS[copy](bgr), [cv2.IMWRITE_JPEG_QUALITY, 92])
    return read_upload_file(path, garments)


def features(data: dict[str, np.ndarray]) -> np.ndarray:
    """The check's input: the upper-body crop's embedding, then the whole-body crop's."""
    return np.hstack([data["upper"], data["whole"]])


def ccp_examples(path: Path, garments: GarmentModel, with_copies: bool, folder: Path) -> list[tuple[dict, int, str]]:
    """One ccp photo's examples: the photo (real), its FRAMINGS cuts (real, or made up when the
    cut holds no upper body) and, with_copies, its upload copies and dark legs cuts."""
    rgb = load_image(path)
    full = read_pose(rgb)
    if not full.person:
        return []
    rows = []
    if (got := crops_embeddings(rgb, full, garments)) is not None:  # the photo as an upload
        rows.append((got, 1, "ccp full"))
    if with_copies:
        bgr = cv2.imread(str(path))
        for copy in REAL_COPIES:
            if (got := read_copy(bgr, copy, garments, folder)) is not None:
                rows.append((got, 1, copy))
    if not can_be_framed(full):
        return rows
    for name, (_, not_in_picture) in FRAMINGS.items():  # made up: a cut that holds no upper body
        cut = framed(rgb, np.array(full.landmarks), name)
        if (got := read_upload(cut, garments)) is not None:
            rows.append((got, int("upper" not in not_in_picture), name))
        if with_copies and "upper" in not_in_picture and (got := read_upload(VARIANTS["dark"](cut), garments)) is not None:
            rows.append((got, 0, f"{name}, dark"))
    return rows


def cached(name: str, make: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """training/cache/NAME.npz, made by `make` the first time."""
    path = CACHE / f"{name}.npz"
    if not path.exists():
        CACHE.mkdir(exist_ok=True)
        np.savez(path, **make())
    return dict(np.load(path))


def examples(split: str, garments: GarmentModel, with_copies: bool = False) -> dict[str, np.ndarray]:
    """Embeddings, labels (1 real, 0 made up) and where each came from, for one split (cached)."""
    name = f"torso_{split}_{garments.fingerprint}{'_copies' if with_copies else ''}"
    return cached(name, lambda: read_examples(split, garments, with_copies))


def read_examples(split: str, garments: GarmentModel, with_copies: bool) -> dict[str, np.ndarray]:
    rows: list[tuple[dict, int, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for truth in tqdm(datasets.load("ccp", split), desc=f"ccp {split}", unit="photo"):
            rows += ccp_examples(truth.path, garments, with_copies, Path(tmp))
    for truth in tqdm(datasets.load("peta", split), desc=f"peta {split}", unit="photo"):
        if (got := read_upload(load_image(truth.path), garments)) is not None:
            rows.append((got, 1, "peta full"))
    out = {key: np.array([r[0][key] for r in rows]) for key in rows[0][0]}
    return out | {"y": np.array([r[1] for r in rows]), "source": np.array([r[2] for r in rows])}


def no_one_examples(split: str, garments: GarmentModel) -> dict[str, np.ndarray]:
    """Embeddings of the skeletons found in the clothing product photos of one split (all of them,
    whatever the check says; `legs_check` keeps those it rejects; cached)."""
    return cached(f"no_one_{split}_{garments.fingerprint}", lambda: read_no_one_examples(split, garments))


def read_no_one_examples(split: str, garments: GarmentModel) -> dict[str, np.ndarray]:
    rows = []
    for path in tqdm(datasets.product_photos(split), desc=f"clothing {split}", unit="photo"):
        try:
            got = read_upload_file(path, garments)
        except (BadImage, OSError):
            continue
        if got is not None:
            rows.append(got)
    return {key: np.array([r[key] for r in rows], np.float32).reshape(len(rows), -1) for key in ("upper", "whole")}


def lower_features(rgb: np.ndarray, garments: GarmentModel, pose: PoseReading | None = None) -> np.ndarray | None:
    """The lower-garment check's input for an upload of this picture: the embeddings of its
    lower-body and whole-body crops (None without both); `pose`: the picture's, when already read."""
    got = crops_embeddings(rgb, pose or read_pose(rgb), garments, ("lower", "whole"))
    return None if got is None else np.hstack([got["lower"], got["whole"]])


def lower_examples(split: str, garments: GarmentModel) -> dict[str, np.ndarray]:
    """The lower-garment check's inputs (`lower_features`), labels (1 a lower garment, 0 none) and
    where each came from, for one split (cached)."""
    return cached(f"lower_{split}_{garments.fingerprint}", lambda: read_lower_examples(split, garments))


def read_lower_examples(split: str, garments: GarmentModel) -> dict[str, np.ndarray]:
    rows: list[tuple[np.ndarray, int, str]] = []
    for truth in tqdm(datasets.load("ccp", split), desc=f"ccp {split}, lower", unit="photo"):
        rgb = load_image(truth.path)
        full = read_pose(rgb)
        if (got := lower_features(rgb, garments, full)) is not None:
            rows.append((got, 1, "ccp full"))
        if not can_be_framed(full):
            continue
        landmarks = np.array(full.landmarks)
        for name, (rows_kept, label) in LABELLED_LOWER_CUTS.items():
            if (got := lower_features(cut(rgb, landmarks, rows_kept), garments)) is not None:
                rows.append((got, label, name))
    for truth in tqdm(datasets.load("peta", split), desc=f"peta {split}, lower", unit="photo"):
        if (got := lower_features(load_image(truth.path), garments)) is not None:
            rows.append((got, 1, "peta full"))
    return {"x": np.array([r[0] for r in rows], np.float32), "y": np.array([r[1] for r in rows]),
            "source": np.array([r[2] for r in rows])}


def fitted_check(x: np.ndarray, y: np.ndarray, kept: float) -> tuple[LinearCheck, np.ndarray]:
    """A logistic regression fitted on (x, y), its threshold keeping `kept` of the examples labelled
    1 out of fold; also its out-of-fold scores."""
    out_of_fold = out_of_fold_scores(x, y)
    threshold = float(np.quantile(out_of_fold[y == 1], 1 - kept))
    w, b = fit_logistic(x, y)
    return LinearCheck(threshold=round(threshold, 6), bias=round(b, 6), weights=[round(float(v), 6) for v in w]), out_of_fold


def product_check(train: dict[str, np.ndarray], no_one: dict[str, np.ndarray]) -> tuple[LinearCheck, np.ndarray, np.ndarray]:
    """The product check fitted on the train examples: the real ones (1) against the skeletons
    in product photos (0). Also returns its out-of-fold scores and labels."""
    people, products = features(train)[train["y"] == 1], features(no_one)
    x = np.vstack([people, products])
    y = np.r_[np.ones(len(people)), np.zeros(len(products))]
    return (*fitted_check(x, y, REAL_KEPT), y)


def rejected_by(check: UpperBodyCheck, x: np.ndarray) -> np.ndarray:
    """The rows of `x` (features) that the upper-body check finds no upper body in."""
    return x[[not check.passes(v) for v in x]]


def legs_check(train: dict[str, np.ndarray], no_one: dict[str, np.ndarray],
               upper_body: UpperBodyCheck) -> tuple[LinearCheck, np.ndarray, np.ndarray]:
    """The legs check, fitted on the train examples the upper-body check rejects (the only ones it
    will be asked about): made-up skeletons (legs, 1) against skeletons in product photos (no
    one, 0). Also returns its out-of-fold scores and labels."""
    legs = rejected_by(upper_body, features(train)[train["y"] == 0])
    others = rejected_by(upper_body, features(no_one))
    x = np.vstack([legs, others])
    y = np.r_[np.ones(len(legs)), np.zeros(len(others))]
    return (*fitted_check(x, y, LEGS_KEPT), y)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = L2, steps: int = 50) -> tuple[np.ndarray, float]:
    """Ridge logistic regression by Newton's method, the two classes weighted equally."""
    weight = np.where(y == 1, 0.5 / max(y.mean(), 1e-9), 0.5 / max(1 - y.mean(), 1e-9))
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    penalty = np.full(xb.shape[1], l2)
    penalty[-1] = 0.0  # the bias is not penalised
    for _ in range(steps):
        p = 1 / (1 + np.exp(-np.clip(xb @ w, -30, 30)))
        grad = xb.T @ (weight * (p - y)) + penalty * w
        hess = (xb * (weight * p * (1 - p))[:, None]).T @ xb + np.diag(penalty)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1])


def out_of_fold_scores(x: np.ndarray, y: np.ndarray, folds: int = 5, seed: int = 0) -> np.ndarray:
    fold = np.random.default_rng(seed).integers(0, folds, len(y))
    scores = np.empty(len(y))
    for k in range(folds):
        w, b = fit_logistic(x[fold != k], y[fold != k])
        scores[fold == k] = x[fold == k] @ w + b
    return scores


def report(name: str, scores: np.ndarray, data: dict[str, np.ndarray], threshold: float,
           judged: str = "an upper body", kinds: tuple[str, str] = ("made up", "real")) -> None:
    print(f"{name}: crops judged {judged} (score >= {threshold:.3f})")
    for source in dict.fromkeys(data["source"]):
        mine = data["source"] == source
        kept = int((scores[mine] >= threshold).sum())
        kind = kinds[data["y"][mine][0]]
        print(f"  {source:12} {kind:8} {kept:5d} / {mine.sum():5d} = {kept / mine.sum():6.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=model_dir() / TORSO_CHECK_FILE)
    parser.add_argument("--with-copies", action="store_true",
                        help="also far-away, dark and turned copies of the ccp photos (tried, not shipped)")
    args = parser.parse_args()
    start = time.time()
    garments = GarmentModel(upper_body_check=False)
    train, val = (examples(split, garments, args.with_copies) for split in ("train", "val"))
    x_train, x_val = features(train), features(val)
    upper_body, out_of_fold = fitted_check(x_train, train["y"], REAL_KEPT)
    report("train, out of fold", out_of_fold, train, upper_body.threshold)
    report("val", upper_body.score(x_val), val, upper_body.threshold)
    check = UpperBodyCheck(garment_model=garments.fingerprint, **upper_body.model_dump())
    no_one_train = no_one_examples("train", garments)
    legs, out_of_fold, y = legs_check(train, no_one_train, check)
    print(f"legs check: of the skeletons without an upper body, judged legs (score >= {legs.threshold:.3f})")
    print(f"  train, out of fold: legs {np.mean(out_of_fold[y == 1] >= legs.threshold):6.1%} of {int(y.sum())}, "
          f"no one {np.mean(out_of_fold[y == 0] >= legs.threshold):6.1%} of {int((1 - y).sum())}")
    val_no_one = features(no_one_examples("val", garments))
    for name, x in (("legs", x_val[val["y"] == 0]), ("no one", val_no_one)):
        x = rejected_by(check, x)
        print(f"  val: {name} {np.mean([legs.passes(v) for v in x]):6.1%} of {len(x)}")
    product, out_of_fold, y = product_check(train, no_one_train)
    print(f"product check: judged a person (score >= {product.threshold:.3f})")
    print(f"  train, out of fold: people {np.mean(out_of_fold[y == 1] >= product.threshold):6.1%} of {int(y.sum())}, "
          f"product photos {np.mean(out_of_fold[y == 0] >= product.threshold):6.1%} of {int((1 - y).sum())}")
    for name, x in (("people", x_val[val["y"] == 1]), ("product photos", val_no_one)):
        print(f"  val: {name} {np.mean([product.passes(v) for v in x]):6.1%} of {len(x)}")
    lower_train, lower_val = (lower_examples(split, garments) for split in ("train", "val"))
    lower, out_of_fold = fitted_check(lower_train["x"], lower_train["y"], LOWER_KEPT)
    kinds = ("none", "garment")
    report("lower-garment check, train, out of fold", out_of_fold, lower_train, lower.threshold, "a lower garment", kinds)
    report("lower-garment check, val", lower.score(lower_val["x"]), lower_val,
           lower.threshold, "a lower garment", kinds)
    check = check.model_copy(update={"legs": legs, "lower": lower, "product": product})
    args.out.write_text(check.model_dump_json(indent=1, exclude_none=True) + "\n")
    print(f"wrote {args.out} ({time.time() - start:.0f} s)")


if __name__ == "__main__":
    main()
