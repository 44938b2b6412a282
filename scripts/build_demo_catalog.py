"""Build the demo catalog (samples/catalog/) from the CC0 clothing dataset in ../shared/data.

    .venv/bin/python scripts/build_demo_catalog.py [--data ../shared/data] [--out samples/catalog]

Deterministic: the same data gives the same catalog. What it picks and why:
- Garments whose clothing label the garment model trains on (datasets.CLOTHING: T-Shirt, Shirt,
  Longsleeve, Outwear, ...) come ONLY from senders in the clothing TEST split
  (training/splits/clothing.csv), so the inventory never holds a photo the model learned from.
- The clothing set has no jeans and no jumpsuit label, and the garment model does not train on its
  "Pants", "Not sure" or "Other" photos: jeans, pants and jumpsuit items were picked BY EYE from
  those (the ids below; any split).
- Kids' clothes, Shoes, Hat, Skip, Not sure and Other are otherwise left out.
- Gender by a rule on the source label (the dataset has none): Dress, Skirt, jumpsuits, Blouse,
  Top, Body -> female; Polo, Blazer, Undershirt -> male; everything else (t-shirts, shirts,
  sweaters, jackets, pants, jeans, shorts) -> unisex. So every category has items for women and
  men (through unisex), except dresses, skirts and jumpsuits (women only).
- Names: an adjective, the garment's dominant colour (lookmatch.colour) and a noun from the
  source label; prices by category range; stock 0 for about one item in eight.
Thumbnails: 160 px longest side, JPEG quality 80.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
from PIL import Image

from lookmatch.colour import dominant_colour
from lookmatch.config import REPO_ROOT, data_dir
from lookmatch.datasets import CLOTHING, read_split
from lookmatch.inventory import COLUMNS

THUMB_SIDE = 160
# How many items per source label (from the test split, in a stable hashed order).
PER_LABEL = {"T-Shirt": 22, "Polo": 8, "Shirt": 18, "Blouse": 12, "Longsleeve": 20, "Hoodie": 10,
             "Outwear": 20, "Blazer": 10, "Top": 10, "Undershirt": 12, "Shorts": 30,
             "Skirt": 30, "Dress": 35}
# Picked by eye (see the module docstring): clothing image ids.
JEANS = """97074b7f-706a-4c17-b875-bd9baa5bed0e 84a4a5a4-fb02-4009-916d-7e82d65c3e12
081b5ec1-13a6-43c8-991f-9ad2020f646a f6cdc0f4-9615-4e0c-a22b-6972f6fb4e1a 223939a1-c2a0-41c7-8956-fb1b6370ebeb
afc40786-a90b-48ed-a78f-dfb8833d065d 0fe5eeb6-316f-4f60-b604-8a1b25e23433 c5924c48-00cc-43bd-b8a3-300a1ae7551f
fbdb72f7-0d7f-4c8b-b8b3-0d90c96bffa7 1faab1ac-d8d4-4711-adbb-7812d7513d41 4f9521b3-9cad-4cb2-bf9e-34bd0b10b068
cc0d271d-0cc4-4673-b3a2-6c5506f8a4dd 16f2e166-c38a-4171-a5b2-e9f5c55fafc3 fd2d5fd1-2572-48d1-a089-f44039543b50
6f2e047c-673a-4d8a-ba75-f3ba4b23f22a 6b184036-28e9-43fb-93b7-1282efa405c8 549efe03-629e-4620-9fe2-4ed3a9d856fd
b571d681-dbca-42bd-8de4-3f863e8bffe7 4ba6deca-32d4-414a-8ccc-42bee703520d ad22bcd3-abd8-4b31-9605-2cc460b93e4a
b365eac0-cf34-4db5-807e-794323d531fd e983efac-8284-4c32-b8c6-8bce9f7d3e5b 90251c13-9c87-4c28-a7f4-fe7aee16ce87
f60f4649-b463-4585-aeb2-e0d192b968ca f7ffc2ea-400f-4965-b989-0b755b9db198""".split()
PANTS = """c4f11a12-2fcd-4268-8045-5a00aec7e656 9a858530-6e0d-4bf0-8900-42055c64ddaf
600e6a2d-1177-4918-9760-610f2d89dc30 9b4aa622-dab1-4d43-abc5-e736e0f600fc 9ff5041a-81d2-417c-b6a0-453a2b6b1052
ba510e07-0c92-4764-9b4f-d9b12560d1f6 967cd983-84e9-4812-ab2e-bdf67cc85051 f50f1ab8-e2b4-4f80-9f83-8cb97b51fdea
f03266af-e2ee-4fb5-823f-38e238daa944 cbce7a75-5e1d-4450-9b51-714efa55bfa0 119518b0-abfc-49a1-88dc-016f2dbd17ff
889779d4-3902-45f7-9187-8001a6cf2cfc e360d7df-90fc-4de0-bc17-e8924cbe7222 0c99f0b4-3a0d-4d24-bfdd-e9e98914892c
79e3574b-361d-4c3a-b311-85c4ee1e784b 6df15f1e-3e78-4bb3-b43a-a9d32b9b3ec9 8b8563c5-9eb1-4c44-9d52-acd22a8fe25d
012d1ca9-baaf-4b01-8b60-955f3408b1b7 735b2cb6-8cd8-4103-8e8e-85888a6acb71 59da8ee6-32a7-44f0-abf2-b53b1f6448af
aaece34a-d076-45ab-84b9-78519297ce5a f7928953-1be4-4935-9cf6-1e70ceb7035d f5c71807-a74b-422f-b551-6ca6a1197a57
184b54b9-94f1-41c6-9aeb-64efa09a4720 8c6763e1-9239-438a-84cb-f4a896d2f46f dca6b87d-6ab6-4e71-9573-fc1a7831d38d
e0dc1f06-78a4-488e-936a-5b2655a65ba6 471f46a6-09d5-48c1-a9ea-83617c1fc294 b23375c8-fe67-4390-b770-444bf8eb83b4
c14a445b-08ea-406d-aa46-9eed4562b654 d19e46d9-621e-42f3-b989-528cf9cf97b2 2dff871a-a18a-4ab7-bbd2-cfdd1544b3fa
37a0cfa8-0f10-405a-8d48-838a3d687620 f63adeea-b217-4747-bb2c-8a1b4ce4cef8 cd4815be-7610-4b4a-bc20-e2fdeafb4b3a""".split()
JUMPSUITS = """d0ff6257-879e-4122-b31a-4a40701f05e9 560259b7-b345-4801-aea0-ec6d0049c9e1
6388d73a-66b0-4c68-9a3b-2a1a71d1df6c df3fb1e1-389a-4ac1-acd7-f791f0546c4e f22c776b-752d-48a5-a4bd-974c10ca61d9""".split()
BY_EYE = {"jeans": JEANS, "pants": PANTS, "jumpsuit": JUMPSUITS}

FEMALE = {"Dress", "Skirt", "Blouse", "Top", "Body", "jumpsuit"}
MALE = {"Polo", "Blazer", "Undershirt"}
NOUN = {"T-Shirt": "t-shirt", "Polo": "polo shirt", "Shirt": "shirt", "Blouse": "blouse",
        "Longsleeve": "long-sleeve jumper", "Hoodie": "hoodie", "Outwear": "jacket", "Blazer": "blazer",
        "Top": "top", "Body": "bodysuit", "Undershirt": "tank top", "Shorts": "shorts", "Skirt": "skirt",
        "Dress": "dress", "jeans": "jeans", "pants": "trousers", "jumpsuit": "jumpsuit"}
ADJECTIVES = ("Classic", "Relaxed", "Slim", "Everyday", "Soft", "Essential", "Modern", "Simple")
PRICE_RANGE = {"t-shirt": (12, 30), "shirt": (25, 60), "sweater": (30, 70), "outerwear": (60, 180),
               "top": (10, 30), "pants": (30, 80), "jeans": (40, 100), "shorts": (18, 45),
               "skirt": (25, 70), "dress": (35, 120), "jumpsuit": (40, 110)}
CODE = {"t-shirt": "TS", "shirt": "SH", "sweater": "SW", "outerwear": "OW", "top": "TP", "pants": "PA",
        "jeans": "JE", "shorts": "SO", "skirt": "SK", "dress": "DR", "jumpsuit": "JS"}


def stable(text: str) -> int:
    return int(hashlib.sha1(text.encode()).hexdigest(), 16)


def choose(data: Path) -> list[tuple[str, str, str]]:
    """(image id, source label, category) of every item of the demo catalog."""
    split = read_split("clothing")
    with open(data / "clothing" / "images.csv", newline="") as f:
        records = list(csv.DictReader(f))
    known = {r["image"] for r in records}
    chosen = []
    for label, count in PER_LABEL.items():
        candidates = sorted((r["image"] for r in records if r["label"] == label and r["kids"] == "False"
                             and split.get(r["sender_id"]) == "test"), key=stable)
        if len(candidates) < count:
            print(f"note: only {len(candidates)} test-split {label} photos (wanted {count})", file=sys.stderr)
        chosen += [(image, label, CLOTHING[label][1]) for image in candidates[:count]]
    for category, images in BY_EYE.items():
        missing = [i for i in images if i not in known]
        if missing:
            raise SystemExit(f"{category}: image ids not in the clothing set: {missing}")
        chosen += [(image, category, category) for image in images]
    return chosen


def build(data: Path, out: Path) -> None:
    images_dir = out / "images"
    images_dir.mkdir(parents=True, exist_ok=True)
    for old in images_dir.glob("*.jpg"):
        old.unlink()
    counters: dict[str, int] = {}
    rows = []
    for image, label, category in choose(data):
        counters[category] = counters.get(category, 0) + 1
        sku = f"LM-{CODE[category]}-{counters[category]:03d}"
        photo = Image.open(data / "clothing" / "images" / f"{image}.jpg").convert("RGB")
        photo.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.LANCZOS)
        photo.save(images_dir / f"{sku}.jpg", format="JPEG", quality=80, optimize=True)
        colour = dominant_colour(np.asarray(photo))
        h = stable(image)
        low, high = PRICE_RANGE[category]
        price = Decimal(low + h % (high - low + 1)) - Decimal("0.10")
        gender = "female" if label in FEMALE else "male" if label in MALE else "unisex"
        rows.append({"sku": sku, "name": f"{ADJECTIVES[h % len(ADJECTIVES)]} {colour.name} {NOUN[label]}",
                     "category": category, "gender": gender, "price": f"{price:.2f}", "currency": "EUR",
                     "stock": 0 if h % 8 == 0 else 1 + h % 20, "image": f"{sku}.jpg",
                     "source": f"clothing/{image}"})
    with open(out / "catalog.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=(*COLUMNS, "source"))
        writer.writeheader()
        writer.writerows(rows)
    size = sum(p.stat().st_size for p in images_dir.glob("*.jpg"))
    print(f"{len(rows)} items, {size / 1e6:.2f} MB of thumbnails -> {out}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=data_dir(), help="the shared data folder")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "samples" / "catalog")
    args = parser.parse_args()
    build(args.data, args.out)


if __name__ == "__main__":
    main()
