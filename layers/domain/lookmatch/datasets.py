"""Ground truth from ../shared/data in the contract's labels, and the held-out split.

The ONE place where dataset tags become contract labels: training (training/) and scoring
(`lookmatch evaluate`) both read it. Rules, decided once:

ccp (street photos, tags and, for 748 photos, pixel masks). Garment labels come from one of three
sources (`load(..., ccp_source=...)`, default CCP_LABELS):
- "eye": every photo's upper / lower / whole read by eye from the photo itself
  (training/labels/ccp_garments_by_eye.csv; how it was made: training/labels/README.md). "none"
  (no such garment) and "unclear" (hidden, out of frame) are unknown.
- "eye-sure": the same, but a head the annotator marked unsure is unknown too: scores on the
  photos whose garment is not in doubt (for reading figures, not for training).
- "tags": derived from ccp's own tags and masks by these rules:
- upper: t-shirt -> t-shirt; shirt, blouse -> shirt; sweater, jumper, sweatshirt, cardigan,
  hoodie -> sweater; coat, jacket, blazer, suit -> outerwear; top, vest, bodysuit -> top (ccp's
  "vest" is mostly a sleeveless top, sometimes a sleeveless gilet). Several: with masks the label
  whose tags cover the most pixels, else the outermost (outerwear > sweater > shirt > t-shirt > top).
- lower: pants, leggings -> pants; jeans; shorts; skirt. Several: most pixels, else the outermost
  (skirt > shorts > jeans > pants). A suit alone gives pants.
- whole: dress -> dress, romper -> jumpsuit, else separates. With masks the one-piece must cover
  at least 1% of the photo and half the area of the largest lower garment (a dress tag with a few
  stray pixels next to trousers is separates).
- Tags covering < 0.2% of a masked photo are ignored (annotation crumbs).
- gender: ccp has none. For the TEST photos only, a gender judged by eye
  (training/gender/ccp_test_gender_by_eye.json, 328 photos; see training/gender/README.md), so
  gender on street photos can be scored; never used for training or for choosing anything.
peta (low-resolution pedestrians; research-only licence):
- lower: Jeans -> jeans (also with Trousers), Trousers/Capri -> pants, Shorts/HotPants -> shorts
  (Jeans + Shorts: denim shorts -> shorts), ShortSkirt/LongSkirt -> skirt; other mixes unknown.
- upper only where one garment attribute is set: Tshirt -> t-shirt, Jacket/Suit -> outerwear,
  Sweater -> sweater, NoSleeve -> top (PETA has no shirt attribute).
- whole: separates when the lower garment is pants, jeans or shorts (two pieces); else unknown.
- gender: personalMale -> male, personalFemale -> female.
clothing (product photos, one garment each; kids' items skipped):
- T-Shirt, Polo -> upper t-shirt; Shirt, Blouse -> shirt; Longsleeve, Hoodie -> sweater;
  Outwear, Blazer -> outerwear; Top, Body, Undershirt -> top; Shorts, Skirt -> lower; Dress ->
  whole dress. Pants are skipped: the set does not tell jeans from other trousers.
  Not sure, Skip, Other, Shoes, Hat: skipped.

Split (committed in training/splits/*.csv as group,split): a stable hash of the group puts ~20%
in test and ~10% in val (train's held-out part for early stopping and calibration checks). Groups:
ccp by image id (the sample photos in samples/photos are forced into test), peta by `person`,
clothing by `sender_id`, so no person or photographer is on both sides.
"""
from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .config import REPO_ROOT, data_dir

DATASETS = ("ccp", "peta", "clothing")
SPLITS = ("train", "val", "test")
SPLIT_DIR = REPO_ROOT / "training" / "splits"
# ccp photos committed as samples/photos/ccp_NNNN.jpg: always held out.
CCP_FORCED_TEST = ("1006", "1012", "1014", "1039", "1065")

CCP_UPPER = {
    "t-shirt": "t-shirt", "shirt": "shirt", "blouse": "shirt",
    "sweater": "sweater", "jumper": "sweater", "sweatshirt": "sweater", "cardigan": "sweater", "hoodie": "sweater",
    "coat": "outerwear", "jacket": "outerwear", "blazer": "outerwear", "suit": "outerwear",
    "top": "top", "vest": "top", "bodysuit": "top",
}
CCP_LOWER = {"pants": "pants", "leggings": "pants", "jeans": "jeans", "shorts": "shorts", "skirt": "skirt"}
UPPER_OUTERMOST = ("outerwear", "sweater", "shirt", "t-shirt", "top")
LOWER_OUTERMOST = ("skirt", "shorts", "jeans", "pants")
MIN_TAG_AREA = 0.002
CCP_GENDER_BY_EYE = REPO_ROOT / "training" / "gender" / "ccp_test_gender_by_eye.json"
CCP_GARMENTS_BY_EYE = REPO_ROOT / "training" / "labels" / "ccp_garments_by_eye.csv"
CCP_LABEL_SOURCES = ("eye", "eye-sure", "tags")
CCP_LABELS = "eye"

PETA_UPPER = {
    "upperBodyTshirt": "t-shirt", "upperBodyJacket": "outerwear", "upperBodySuit": "outerwear",
    "upperBodySweater": "sweater", "upperBodyNoSleeve": "top",
}
PETA_LOWER = {
    "lowerBodyTrousers": "pants", "lowerBodyCapri": "pants", "lowerBodyJeans": "jeans",
    "lowerBodyShorts": "shorts", "lowerBodyHotPants": "shorts",
    "lowerBodyShortSkirt": "skirt", "lowerBodyLongSkirt": "skirt",
}
PETA_GENDER = {"personalMale": "male", "personalFemale": "female"}

CLOTHING = {
    "T-Shirt": ("upper", "t-shirt"), "Polo": ("upper", "t-shirt"),
    "Shirt": ("upper", "shirt"), "Blouse": ("upper", "shirt"),
    "Longsleeve": ("upper", "sweater"), "Hoodie": ("upper", "sweater"),
    "Outwear": ("upper", "outerwear"), "Blazer": ("upper", "outerwear"),
    "Top": ("upper", "top"), "Body": ("upper", "top"), "Undershirt": ("upper", "top"),
    "Shorts": ("lower", "shorts"), "Skirt": ("lower", "skirt"), "Dress": ("whole", "dress"),
}


@dataclass(frozen=True)
class Truth:
    """One labelled photo. A head whose label is unknown is None (not scored, not trained)."""

    dataset: str
    key: str  # file stem: ccp "0002", peta "00001", clothing the uuid
    path: Path
    group: str  # what the split is keyed on
    split: str
    upper: str | None = None
    lower: str | None = None
    whole: str | None = None
    gender: str | None = None

    def label(self, head: str) -> str | None:
        return getattr(self, head)


def _pick(tags: list[str], mapping: dict[str, str], order: tuple[str, ...], area: dict[str, float] | None):
    """Label for a region from garment tags: most pixels when masks exist, else the outermost."""
    if area is not None:
        totals: dict[str, float] = {}
        for tag in tags:
            if tag in mapping and area.get(tag, 0.0) >= MIN_TAG_AREA:
                totals[mapping[tag]] = totals.get(mapping[tag], 0.0) + area[tag]
        return max(totals, key=totals.get) if totals else None
    labels = {mapping[t] for t in tags if t in mapping}
    return next((label for label in order if label in labels), None)


def ccp_labels(entry: dict) -> dict[str, str | None]:
    """upper/lower/whole for one ccp labels.json entry ({"source", "tags", "area"})."""
    tags = entry["tags"]
    area = entry.get("area") if entry.get("source") == "pixel" else None
    upper = _pick(tags, CCP_UPPER, UPPER_OUTERMOST, area)
    lower = _pick(tags, CCP_LOWER, LOWER_OUTERMOST, area)
    if lower is None and "suit" in tags:
        lower = "pants"
    whole = "separates"
    for tag, label in (("dress", "dress"), ("romper", "jumpsuit")):
        if tag not in tags:
            continue
        if area is None:
            whole = label
            break
        largest_lower = max((area.get(t, 0.0) for t in CCP_LOWER if t in tags), default=0.0)
        if area.get(tag, 0.0) >= max(0.01, 0.5 * largest_lower):
            whole = label
            break
    return {"upper": upper, "lower": lower, "whole": whole}


def ccp_eye_labels(row: dict[str, str], sure_only: bool = False) -> dict[str, str | None]:
    """upper/lower/whole from one row of the by-eye labels file; "none" and "unclear" are unknown,
    and with sure_only so is a head named in the row's `unsure` column (e.g. "upper+whole")."""
    unsure = set(row.get("unsure", "").split("+")) if sure_only else set()
    return {head: None if row[head] in ("none", "unclear") or head in unsure else row[head]
            for head in ("upper", "lower", "whole")}


def read_ccp_by_eye(path: Path = CCP_GARMENTS_BY_EYE, sure_only: bool = False) -> dict[str, dict[str, str | None]]:
    """photo id -> upper/lower/whole of a by-eye labels file (training/labels/)."""
    with open(path, newline="") as f:
        return {row["id"]: ccp_eye_labels(row, sure_only) for row in csv.DictReader(f)}


def peta_labels(attrs: list[str]) -> dict[str, str | None]:
    a = set(attrs)
    uppers = {PETA_UPPER[x] for x in a if x in PETA_UPPER}
    lowers = {PETA_LOWER[x] for x in a if x in PETA_LOWER}
    if lowers == {"jeans", "pants"}:
        lowers = {"jeans"}
    elif lowers == {"jeans", "shorts"}:
        lowers = {"shorts"}
    lower = lowers.pop() if len(lowers) == 1 else None
    genders = {PETA_GENDER[x] for x in a if x in PETA_GENDER}
    return {
        "upper": uppers.pop() if len(uppers) == 1 else None,
        "lower": lower,
        "whole": "separates" if lower in ("pants", "jeans", "shorts") else None,
        "gender": genders.pop() if len(genders) == 1 else None,
    }


def clothing_labels(label: str, kids: bool) -> dict[str, str | None]:
    out: dict[str, str | None] = {"upper": None, "lower": None, "whole": None}
    if not kids and label in CLOTHING:
        region, value = CLOTHING[label]
        out[region] = value
    return out


def hash_split(dataset: str, group: str) -> str:
    """The deterministic rule the committed split files were made with (~70/10/20)."""
    bucket = int(hashlib.sha1(f"{dataset}:{group}".encode()).hexdigest(), 16) % 100
    return "test" if bucket < 20 else "val" if bucket < 30 else "train"


def _raw(dataset: str, root: Path, ccp_source: str = CCP_LABELS) -> list[tuple[str, Path, str, dict]]:
    """(key, path, group, labels) for every usable photo of a dataset."""
    rows = []
    if dataset == "ccp":
        if ccp_source not in CCP_LABEL_SOURCES:
            raise ValueError(f"unknown ccp label source {ccp_source!r}; expected one of {CCP_LABEL_SOURCES}")
        images = json.loads((root / "ccp" / "labels.json").read_text())["images"]
        gender_by_eye = json.loads(CCP_GENDER_BY_EYE.read_text())
        by_eye = ccp_source != "tags"
        garments_by_eye = read_ccp_by_eye(sure_only=ccp_source == "eye-sure") if by_eye else {}
        for key, entry in sorted(images.items()):
            garments = garments_by_eye[key] if by_eye else ccp_labels(entry)
            rows.append((key, root / "ccp" / "photos" / f"{key}.jpg", key,
                         garments | {"gender": gender_by_eye.get(key)}))
    elif dataset == "peta":
        for rec in json.loads((root / "peta" / "labels.json").read_text()):
            key = Path(rec["file"]).stem
            rows.append((key, root / "peta" / "images" / rec["file"], rec["person"], peta_labels(rec["attrs"])))
    elif dataset == "clothing":
        with open(root / "clothing" / "images.csv", newline="") as f:
            for rec in csv.DictReader(f):
                labels = clothing_labels(rec["label"], rec["kids"] == "True")
                if any(labels.values()):
                    path = root / "clothing" / "images" / f"{rec['image']}.jpg"
                    rows.append((rec["image"], path, rec["sender_id"], labels))
    else:
        raise ValueError(f"unknown dataset {dataset!r}; expected one of {DATASETS}")
    return rows


def make_split(dataset: str, root: Path | None = None) -> dict[str, str]:
    """group -> split for every group of a dataset (what training/splits/<dataset>.csv holds)."""
    groups = sorted({group for _, _, group, _ in _raw(dataset, root or data_dir())})
    split = {g: hash_split(dataset, g) for g in groups}
    if dataset == "ccp":
        split.update({g: "test" for g in CCP_FORCED_TEST if g in split})
    return split


def write_split(dataset: str, root: Path | None = None, out_dir: Path = SPLIT_DIR) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{dataset}.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["group", "split"])
        w.writerows(sorted(make_split(dataset, root).items()))
    return path


@lru_cache(maxsize=None)
def read_split(dataset: str, split_dir: Path = SPLIT_DIR) -> dict[str, str]:
    path = split_dir / f"{dataset}.csv"
    if not path.is_file():
        raise FileNotFoundError(f"split file {path} is missing: run `python training/make_splits.py`")
    with open(path, newline="") as f:
        return {row["group"]: row["split"] for row in csv.DictReader(f)}


def load(dataset: str, split: str | None = None, root: Path | None = None,
         ccp_source: str = CCP_LABELS) -> list[Truth]:
    """Ground truth of a dataset, optionally one split only; groups absent from the split file are an error.

    ccp_source picks the source of ccp's garment labels ("eye" or "tags"; module docstring)."""
    if split is not None and split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    root = Path(root or data_dir())
    if not root.is_dir():
        raise FileNotFoundError(f"data folder {root} not found: set LOOKMATCH_DATA_DIR")
    assigned = read_split(dataset)
    out = []
    for key, path, group, labels in _raw(dataset, root, ccp_source):
        if group not in assigned:
            raise KeyError(f"{dataset} group {group!r} is in no split: regenerate training/splits")
        if split is None or assigned[group] == split:
            out.append(Truth(dataset, key, path, group, assigned[group], **labels))
    return out


def product_photos(split: str, root: Path | None = None) -> list[Path]:
    """Every clothing product photo (whatever its label: garments flat or hanging, shoes, hats, a
    model cut at the neck) whose sender falls in the split by `hash_split`, the rule the split
    files were made with: pictures with no one in them, for checking that none is reported."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    folder = Path(root or data_dir()) / "clothing"
    with open(folder / "images.csv", newline="") as f:
        return [folder / "images" / f"{rec['image']}.jpg" for rec in csv.DictReader(f)
                if hash_split("clothing", rec["sender_id"]) == split]
