"""Ranking inventory items against what the person wears (pure: no storage, no boto3).

Rules (issue 3, "Recommending"):
- Items for the person's gender or `unisex` (gender unknown: every item), in stock only.
- When the whole body is a dress or a jumpsuit: items of that category under "whole", nothing
  under "upper"/"lower". Otherwise items of the upper label under "upper" and of the lower label
  under "lower" (a region not in the picture gets none).
- Score = cosine similarity of the crop's embedding and the item's, plus a small colour-closeness
  term (COLOUR_WEIGHT) so that, among items of a similar look, the one of the nearer colour comes
  first. Top `top_k` per region, no sku twice.
- The look counts only for an item embedded by the garment model that read the photo
  (`InventoryItem.embedding_model` = `Reading.garment_model`): two models' embeddings live in
  different spaces. An item embedded by another model (the catalog not imported again after a
  model update) is ranked by colour alone; `stale_items` counts them for the operator.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .colour import hex_to_lab
from .inventory import InventoryItem

WHOLE_BODY_ITEMS = ("dress", "jumpsuit")
# Colour is a secondary signal: at most a 0.15 shift, against cosine similarities in [-1, 1].
# Measured against labels (scripts/eval_ranking.py, README): look alone finds fewer of the same
# garments; 0.10 to 0.20 rank alike, and no weight up to 1.0 did better beyond chance.
COLOUR_WEIGHT = 0.15
# CIE76 distance at which two colours count as unrelated (black to white is 100).
COLOUR_FAR = 60.0


def recommend(reading: Any, items_by_category: Mapping[str, Iterable[InventoryItem]],
              top_k: int = 3) -> dict[str, list[dict]]:
    """Top items per region: {"upper": [...], "lower": [...], "whole": [...]}.

    `reading` is `lookmatch.pipeline.Reading`: `gender` (label or None) and `upper`, `lower`,
    `whole` (None, or label + score + `embedding` + `colour` {name, hex}).
    `items_by_category` maps a category to candidate items (as loaded from the Inventory table);
    gender and stock are checked again here, so a wider candidate list is harmless.
    """
    if top_k < 1:
        raise ValueError(f"top_k must be at least 1, got {top_k}")
    gender = reading.gender.label if reading.gender is not None else None
    whole = reading.whole
    if whole is not None and whole.label in WHOLE_BODY_ITEMS:
        wanted = {"whole": whole}
    else:
        wanted = {"upper": reading.upper, "lower": reading.lower}

    model = getattr(reading, "garment_model", None)
    result: dict[str, list[dict]] = {"upper": [], "lower": [], "whole": []}
    seen: set[str] = set()
    for region, garment in wanted.items():
        if garment is None:
            continue
        candidates = [item for item in items_by_category.get(garment.label, ())
                      if item.category == garment.label and item.stock > 0
                      and (gender is None or item.gender in (gender, "unisex"))]
        scored = sorted(((_score(garment, item, same_model(model, item)), item) for item in candidates),
                        key=lambda pair: (-pair[0], pair[1].sku))
        for score, item in scored:
            if len(result[region]) == top_k:
                break
            if item.sku in seen:
                continue
            seen.add(item.sku)
            result[region].append(_as_result(item, score))
    return result


def same_model(garment_model: str | None, item: InventoryItem) -> bool:
    """Whether the item was embedded by the garment model that read the photo."""
    return garment_model is not None and item.embedding_model == garment_model


def stale_items(reading: Any, items_by_category: Mapping[str, Iterable[InventoryItem]]) -> int:
    """How many candidate items were embedded by another garment model (ranked by colour alone)."""
    model = getattr(reading, "garment_model", None)
    return sum(not same_model(model, item) for items in items_by_category.values() for item in items)


def _score(garment: Any, item: InventoryItem, look: bool) -> float:
    look_similarity = (cosine(garment.embedding, item.embedding)
                       if look and getattr(garment, "embedding", None) is not None else None)
    colour = getattr(garment, "colour", None)
    closeness = colour_closeness(_hex(colour), item.colour.hex) if colour is not None else None
    return match_score(look_similarity, closeness)


def match_score(look_similarity: float | None, closeness: float | None,
                colour_weight: float = COLOUR_WEIGHT) -> float:
    """An item's rank score: the look's cosine similarity plus `colour_weight` times the colour
    closeness; a part that cannot be read (None) adds nothing. (scripts/eval_ranking.py sweeps the
    weight against labels.)"""
    return (look_similarity or 0.0) + (colour_weight * closeness if closeness is not None else 0.0)


def _as_result(item: InventoryItem, score: float) -> dict:
    return {"sku": item.sku, "name": item.name, "category": item.category,
            "gender": item.gender, "price": float(item.price), "currency": item.currency,
            "image_key": item.image_key, "score": round(float(score), 4)}


def cosine(a: Iterable[float], b: Iterable[float]) -> float:
    a, b = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    if a.shape != b.shape:
        raise ValueError(f"embeddings differ in size ({a.shape[0]} vs {b.shape[0]}): "
                         "the inventory was embedded with another garment model; re-import it")
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / norm if norm > 0 else 0.0


def _hex(colour: Any) -> str:
    # The reading's colour is {"name", "hex"}, as a mapping or as a model.
    return colour["hex"] if isinstance(colour, Mapping) else colour.hex


def colour_closeness(hex_a: str, hex_b: str) -> float:
    """1 for the same colour, falling linearly to 0 at COLOUR_FAR apart in CIELAB (CIE76)."""
    lab_a, lab_b = hex_to_lab(hex_a, hex_b)
    distance = float(np.linalg.norm(lab_a - lab_b))
    return max(0.0, 1.0 - distance / COLOUR_FAR)

