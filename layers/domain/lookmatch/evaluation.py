"""Scoring predictions against the held-out ground truth of lookmatch.datasets.

Used by `lookmatch evaluate` (a predictions JSONL from `lookmatch predict`) and by the model's
own evaluation in training/ (crop-level, int8 against float): one implementation of the metrics.
A photo whose ground truth has a label for a head but whose prediction has none (nobody found,
region null) counts as wrong for that head: coverage is part of the score.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import datasets
from . import pose as P
from .contract import GARMENT_LABELS, GENDERS

HEADS: dict[str, tuple[str, ...]] = {**GARMENT_LABELS, "gender": GENDERS}
MISSING = "(none)"  # predicted column for "no prediction"
Z_95 = 1.959964  # two-sided 95% normal quantile


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """95% Wilson score interval of a proportion: how far a rate on n photos can be from the
    rate on all such photos (on ~200 val photos, +-6 points around 75%: two models 2 points
    apart cannot be told apart there)."""
    if n == 0:
        return float("nan"), float("nan")
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


@dataclass
class HeadScore:
    classes: tuple[str, ...]
    confusion: np.ndarray  # rows: truth (classes), columns: prediction (classes + MISSING)
    n: int = 0
    accuracy: float = float("nan")
    accuracy_interval: tuple[float, float] = (float("nan"), float("nan"))  # 95%, wilson_interval
    macro_recall: float = float("nan")
    recall: dict[str, float] = field(default_factory=dict)


def score_head(truth: Iterable[str], predicted: Iterable[str | None], classes: tuple[str, ...]) -> HeadScore:
    """Accuracy, macro recall (mean over classes present in the truth), per-class recall, confusion."""
    cols = {c: i for i, c in enumerate(classes)}
    cm = np.zeros((len(classes), len(classes) + 1), dtype=int)
    for t, p in zip(truth, predicted, strict=True):
        if t not in cols:
            raise ValueError(f"truth label {t!r} is not one of {classes}")
        if p is not None and p not in cols:
            raise ValueError(f"predicted label {p!r} is not one of {classes}")
        cm[cols[t], cols[p] if p is not None else len(classes)] += 1
    n = int(cm.sum())
    score = HeadScore(classes, cm, n)
    if n:
        correct = int(np.trace(cm[:, : len(classes)]))
        score.accuracy = correct / n
        score.accuracy_interval = wilson_interval(correct, n)
        support = cm.sum(axis=1)
        score.recall = {c: float(cm[i, i] / support[i]) for i, c in enumerate(classes) if support[i]}
        score.macro_recall = float(np.mean(list(score.recall.values())))
    return score


def format_confusion(score: HeadScore) -> str:
    cols = list(score.classes) + ([MISSING] if score.confusion[:, -1].any() else [])
    width = max(9, *(len(c) + 1 for c in cols))
    lines = ["truth \\ pred".ljust(12) + "".join(c.rjust(width) for c in cols) + "   recall"]
    for i, c in enumerate(score.classes):
        row = score.confusion[i, : len(cols)]
        rec = f"{score.recall[c]:8.1%}" if c in score.recall else "       -"
        lines.append(c.ljust(12) + "".join(str(v).rjust(width) for v in row) + " " + rec)
    return "\n".join(lines)


def parse_image_ref(image: str) -> tuple[str, str] | None:
    """(dataset, key) for a prediction's `image`: ../shared/data/ccp/photos/0002.jpg, peta/images/00001.jpg,
    clothing/images/<uuid>.jpg, or a committed sample samples/photos/ccp_1006.jpg. None if unknown."""
    path = Path(image)
    for part in reversed(path.parts[:-1]):
        if part in datasets.DATASETS:
            return part, path.stem
    if m := re.fullmatch(r"(ccp|peta|clothing)_(.+)", path.stem):
        return m.group(1), m.group(2)
    return None


@dataclass
class Report:
    split: str
    ccp_source: str = datasets.CCP_LABELS  # where ccp's garment labels come from ("eye" or "tags")
    photos: int = 0  # predictions matched to a ground-truth photo of the split
    unmatched: int = 0  # predictions of photos outside the split or unknown
    errors: int = 0  # lines with "error"
    person_found: int = 0
    per_dataset: dict[str, int] = field(default_factory=dict)
    heads: dict[str, HeadScore] = field(default_factory=dict)
    right: dict[str, dict[tuple[str, str], bool]] = field(default_factory=dict)  # head -> photo -> right?
    person_of: dict[tuple[str, str], str] = field(default_factory=dict)  # photo -> "dataset/group"

    def per_person(self, head: str) -> tuple[float, int] | None:
        """The mean over people of each person's share of photos read right on `head`, and how many
        people; None when no one has several photos. PETA has up to ~60 photos of one pedestrian
        (half its test photos are 11 TownCentre people), so its per-photo accuracy leans on a few
        people."""
        photos = self.right.get(head, {})
        by_person: dict[str, list[bool]] = {}
        for ref, right in photos.items():
            by_person.setdefault(self.person_of[ref], []).append(right)
        if len(by_person) == len(photos):
            return None
        return float(np.mean([np.mean(rights) for rights in by_person.values()])), len(by_person)

    @property
    def selection_score(self) -> float | None:
        """How a garment model is chosen on val (training/train_garments.py scores its val crops the
        same way): macro recall of upper + lower + whole, plus gender accuracy. None without all four."""
        if not all(h in self.heads for h in HEADS):
            return None
        return sum(self.heads[h].macro_recall for h in GARMENT_LABELS) + self.heads["gender"].accuracy


def evaluate_predictions(lines: Iterable[str], split: str = "test", root: Path | None = None,
                         ccp_source: str = datasets.CCP_LABELS) -> Report:
    """Score JSONL lines (the contract's objects) against the ground truth of `split`
    (ccp garments: labels read by eye, or derived from ccp's tags with ccp_source="tags")."""
    truth_index: dict[tuple[str, str], datasets.Truth] = {}
    report = Report(split, ccp_source)
    pairs: dict[str, tuple[list, list]] = {h: ([], []) for h in HEADS}
    seen: set[tuple[str, str]] = set()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"line {number} is not JSON: {exc}") from None
        ref = parse_image_ref(str(obj.get("image", "")))
        if ref is None:
            report.unmatched += 1
            continue
        if ref[0] not in {d for d, _ in truth_index} and ref[0] not in report.per_dataset:
            truth_index.update({(t.dataset, t.key): t for t in datasets.load(ref[0], split, root, ccp_source)})
            report.per_dataset.setdefault(ref[0], 0)
        truth = truth_index.get(ref)
        if truth is None or ref in seen:
            report.unmatched += 1
            continue
        seen.add(ref)
        report.person_of[ref] = f"{truth.dataset}/{truth.group}"
        report.photos += 1
        report.per_dataset[ref[0]] += 1
        if obj.get("error"):
            report.errors += 1
        if obj.get("person"):
            report.person_found += 1
        for head, (t, p) in pairs.items():
            if truth.label(head) is not None:
                t.append(truth.label(head))
                p.append((obj.get(head) or {}).get("label"))
                report.right.setdefault(head, {})[ref] = p[-1] == t[-1]
    report.heads = {h: score_head(t, p, HEADS[h]) for h, (t, p) in pairs.items() if t}
    return report


@dataclass
class Comparison:
    """Two prediction files on the photos both scored for one head."""

    n: int
    right_a: int
    right_b: int
    only_a: int  # photos A reads right and B wrong
    only_b: int
    p_value: float  # exact McNemar test: how often a difference this large comes by chance


def mcnemar_p(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p-value: the discordant photos as fair coin flips."""
    n, k = only_a + only_b, min(only_a, only_b)
    if n == 0:
        return 1.0
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n)


# Photos cut to part of the body, where the full photo's own pose says (T: torso length, shoulder
# line to hip line): framing -> (rows kept as (top, bottom) from the shoulder, hip and knee lines,
# None for the photo's edge; the regions the cut cannot hold). Used by scripts/eval_framing.py (does
# the pipeline report only what is in the picture?) and training/fit_torso_check.py (its examples).
Rows = Callable[[float, float, float], tuple[float | None, float | None]]
FRAMINGS: dict[str, tuple[Rows, frozenset[str]]] = {
    "chest up": (lambda s, h, k: (None, s + 0.5 * (h - s)), frozenset({"lower", "whole"})),
    "waist up": (lambda s, h, k: (None, h + 0.2 * (h - s)), frozenset({"lower"})),
    "hips down": (lambda s, h, k: (h - 0.1 * (h - s), None), frozenset({"head", "upper", "gender"})),
    "thighs down": (lambda s, h, k: ((h + k) / 2, None), frozenset({"head", "upper", "whole", "gender"})),
}


def can_be_framed(pose) -> bool:
    """Does a full photo's reading (a pipeline.PoseReading) place every FRAMINGS cut? Somebody,
    upright as the photo came (no turn), with both shoulders, both hips and a knee in frame."""
    if not pose.person or pose.turns:
        return False
    ok = P.in_frame(np.array(pose.landmarks), pose.width, pose.height)
    return bool(ok[P.SHOULDERS + P.HIPS].all() and ok[P.KNEES].any())


def framed(rgb: np.ndarray, landmarks: np.ndarray, framing: str) -> np.ndarray:
    """The rows of `rgb` a FRAMINGS cut keeps, placed by the photo's own landmarks ((33, >=2)
    pixels; shoulders, hips and knees must be in frame)."""
    return cut(rgb, landmarks, FRAMINGS[framing][0])


def cut(rgb: np.ndarray, landmarks: np.ndarray, rows: Rows) -> np.ndarray:
    """The rows of `rgb` between the top and bottom lines (None: the picture's edge) that `rows`
    places from the shoulder, hip and knee lines (as FRAMINGS' first part does)."""
    y = np.asarray(landmarks, dtype=float)[:, 1]
    lines = float(y[P.SHOULDERS].mean()), float(y[P.HIPS].mean()), float(y[P.KNEES].max())
    top, bottom = rows(*lines)
    height = rgb.shape[0]
    kept = slice(round(max(top or 0.0, 0.0)), round(min(height if bottom is None else bottom, height)))
    return np.ascontiguousarray(rgb[kept])


def side_cut(rgb: np.ndarray, landmarks: np.ndarray, inward: float = 0.25) -> np.ndarray:
    """The photo cut at the left, `inward` of a shoulder width inside the shoulder nearer that edge
    (landmarks (33, >=2) pixels; both shoulders in frame): that shoulder is just out of the picture,
    as in a photo framed tight at the side. Used by scripts/eval_framing.py."""
    x = np.asarray(landmarks, dtype=float)[P.SHOULDERS, 0]
    left = x.min() + inward * abs(x[1] - x[0])
    return np.ascontiguousarray(rgb[:, max(round(left), 0):])


def portrait_cut(rgb: np.ndarray, landmarks: np.ndarray, inward: float = 0.1) -> np.ndarray:
    """The photo's "chest up" rows (FRAMINGS), cut at both sides `inward` of a shoulder width inside
    each shoulder (landmarks (33, >=2) pixels; shoulders and hips in frame): a portrait framed
    tighter than the shoulders, both just out of the picture. Used by scripts/eval_framing.py."""
    x = np.asarray(landmarks, dtype=float)[P.SHOULDERS, 0]
    inset = inward * abs(x[1] - x[0])
    chest = framed(rgb, landmarks, "chest up")
    return np.ascontiguousarray(chest[:, max(round(x.min() + inset), 0):round(x.max() - inset)])


def same_person_first(similarity: np.ndarray, people: Iterable) -> np.ndarray:
    """Recall@1 of a ranking against labels, query by query. `similarity` (N, N) scores every
    pair of rows (-inf: a pair not to rank, e.g. of another predicted label); `people` names whose
    row each is. For each row whose person has another row: is the most similar other row the same
    person's? A row with nothing to rank is a miss. Used by training/compare_on_val.py (look alone)
    and scripts/eval_ranking.py (look and colour, as the recommender scores)."""
    who = np.asarray(list(people))
    if len(who) == 0:
        return np.zeros(0, bool)
    scores = np.array(similarity, dtype=float)  # a copy: the diagonal is not to rank
    np.fill_diagonal(scores, -np.inf)
    best = scores.argmax(1)
    hit = (who[best] == who) & np.isfinite(scores[np.arange(len(who)), best])
    queries = np.array([(who == w).sum() > 1 for w in who])
    return hit[queries]


def compare_reports(a: Report, b: Report) -> dict[str, Comparison]:
    """Per head, A against B on the same photos (paired: far more telling than two intervals)."""
    out = {}
    for head in HEADS:
        ra, rb = a.right.get(head, {}), b.right.get(head, {})
        both = ra.keys() & rb.keys()
        if not both:
            continue
        only_a = sum(ra[k] and not rb[k] for k in both)
        only_b = sum(rb[k] and not ra[k] for k in both)
        out[head] = Comparison(len(both), sum(ra[k] for k in both), sum(rb[k] for k in both), only_a, only_b,
                               mcnemar_p(only_a, only_b))
    return out


def format_comparison(comparison: dict[str, Comparison], name_a: str, name_b: str) -> str:
    out = [f"A = {name_a}", f"B = {name_b}", "",
           f"{'head':8} {'n':>5} {'A acc':>7} {'B acc':>7} {'only A':>7} {'only B':>7} {'p':>7}"]
    for head, c in comparison.items():
        out.append(f"{head:8} {c.n:5d} {c.right_a / c.n:7.1%} {c.right_b / c.n:7.1%} {c.only_a:7d} {c.only_b:7d} "
                   f"{c.p_value:7.3f}")
    out.append("(only A / only B: photos one file reads right and the other wrong; p: exact McNemar test)")
    return "\n".join(out)


def format_report(report: Report) -> str:
    found = report.person_found / report.photos if report.photos else float("nan")
    out = [
        f"split {report.split}: {report.photos} photos scored "
        f"({', '.join(f'{d} {n}' for d, n in report.per_dataset.items()) or 'none'}); "
        f"{report.unmatched} lines not in the split; {report.errors} errors"
        + (f"; ccp garment labels: {report.ccp_source}" if "ccp" in report.per_dataset else ""),
        (f"person found: {report.person_found}/{report.photos} = {found:.1%} "
         f"(95% interval {_interval(wilson_interval(report.person_found, report.photos))})"),
        "",
        f"{'head':8} {'n':>5} {'accuracy':>9} {'95% interval':>14} {'macro rec':>9}",
    ]
    for head, s in report.heads.items():
        out.append(f"{head:8} {s.n:5d} {s.accuracy:9.1%} {_interval(s.accuracy_interval):>14} {s.macro_recall:9.1%}")
    if per_person := {head: got for head in report.heads if (got := report.per_person(head))}:
        out.append("per person (the mean of each person's accuracy; some people have several photos): "
                   + ", ".join(f"{head} {acc:.1%} of {people}" for head, (acc, people) in per_person.items()))
    if report.selection_score is not None:
        out.append(f"selection score (macro recall of upper + lower + whole, + gender accuracy): "
                   f"{report.selection_score:.3f}")
    for head, s in report.heads.items():
        out += ["", f"[{head}]", format_confusion(s)]
    return "\n".join(out)


def _interval(bounds: tuple[float, float]) -> str:
    return f"{100 * bounds[0]:.1f}-{100 * bounds[1]:.1f}%"


def split_photos(dataset: str, split: str = "test", root: Path | None = None) -> list[Path]:
    """Paths of a dataset's photos in one split (to run `lookmatch predict` on exactly them)."""
    return [t.path for t in datasets.load(dataset, split, root)]
