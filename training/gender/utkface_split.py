"""Write training/splits/utkface.csv (group = image file, ~70/10/20 train/val/test).

UTKFace has no person ids here, so the group is the file; the rule is lookmatch.datasets.hash_split
(the same stable hash as the other datasets), so rerunning reproduces the committed file.
Run: .venv/bin/python training/gender/utkface_split.py
"""
import csv
from collections import Counter

from lookmatch.config import data_dir
from lookmatch.datasets import SPLIT_DIR, hash_split

with open(data_dir() / "utkface" / "labels.csv", newline="") as f:
    files = sorted(row["file"] for row in csv.DictReader(f))
split = {name: hash_split("utkface", name) for name in files}
path = SPLIT_DIR / "utkface.csv"
with open(path, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["group", "split"])
    w.writerows(sorted(split.items()))
print(path, dict(Counter(split.values())))
