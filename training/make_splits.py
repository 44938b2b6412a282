"""Write the committed held-out split files training/splits/{ccp,peta,clothing}.csv.

The rule lives in lookmatch.datasets (hash of the group: ccp image id, peta person, clothing
sender); rerunning this reproduces the committed files byte for byte.
Run: .venv/bin/python training/make_splits.py
"""
from collections import Counter

from lookmatch import datasets

for name in datasets.DATASETS:
    path = datasets.write_split(name)
    datasets.read_split.cache_clear()
    rows = datasets.load(name)
    print(path, dict(Counter(t.split for t in rows)))
