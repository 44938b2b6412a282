"""recommend(): ranking rules on hand-made embeddings (no model, no storage)."""
from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest

from lookmatch.contract import Labelled
from lookmatch.contract import Colour
from lookmatch.inventory import InventoryItem
from lookmatch.recommend import colour_closeness, cosine, match_score, recommend, stale_items

GREY = {"name": "grey", "hex": "#808080"}
MODEL = "garments-a"  # the garment model fingerprint of the readings and items below


def item(sku, category, gender="female", embedding=(1.0, 0.0, 0.0), stock=5, hex="#808080", model=MODEL):
    return InventoryItem(sku=sku, name=f"item {sku}", category=category, gender=gender,
                         price=Decimal("19.90"), currency="EUR", stock=stock,
                         image_key=f"inventory/{sku}.jpg", embedding=list(embedding),
                         colour=Colour(name="c", hex=hex), embedding_model=model)


def garment(label, embedding=(1.0, 0.0, 0.0), colour=GREY):
    return SimpleNamespace(label=label, score=0.9, embedding=list(embedding), colour=colour)


def reading(gender="female", upper=None, lower=None, whole=None, model=MODEL):
    return SimpleNamespace(gender=Labelled(label=gender, score=0.9) if gender else None,
                           upper=upper, lower=lower, whole=whole, garment_model=model)


def by_category(*items):
    out = {}
    for i in items:
        out.setdefault(i.category, []).append(i)
    return out


def skus(result, region):
    return [r["sku"] for r in result[region]]


def test_ranks_by_cosine_similarity():
    items = by_category(item("far", "skirt", embedding=(0, 1, 0)),
                        item("near", "skirt", embedding=(0.9, 0.1, 0)),
                        item("mid", "skirt", embedding=(0.5, 0.5, 0)))
    result = recommend(reading(upper=None, lower=garment("skirt")), items)
    assert skus(result, "lower") == ["near", "mid", "far"]
    scores = [r["score"] for r in result["lower"]]
    assert scores == sorted(scores, reverse=True)
    assert result["upper"] == [] and result["whole"] == []


def test_colour_breaks_near_ties_but_does_not_beat_a_clearly_better_look():
    items = by_category(item("red", "t-shirt", hex="#d02020"),
                        item("grey", "t-shirt", hex="#7a7a7a"),
                        item("grey_other_look", "t-shirt", embedding=(0, 1, 0), hex="#808080"))
    result = recommend(reading(upper=garment("t-shirt")), items)
    assert skus(result, "upper") == ["grey", "red", "grey_other_look"]


def test_gender_and_unisex_only():
    items = by_category(item("w", "pants", gender="female"), item("m", "pants", gender="male"),
                        item("u", "pants", gender="unisex"))
    assert set(skus(recommend(reading("male", lower=garment("pants")), items), "lower")) == {"m", "u"}
    assert set(skus(recommend(reading("female", lower=garment("pants")), items), "lower")) == {"w", "u"}
    # Gender unknown: nothing is excluded.
    assert len(recommend(reading(None, lower=garment("pants")), items)["lower"]) == 3


def test_in_stock_only():
    items = by_category(item("gone", "jeans", stock=0), item("there", "jeans", embedding=(0, 1, 0)))
    assert skus(recommend(reading(lower=garment("jeans")), items), "lower") == ["there"]


def test_dress_gives_whole_items_only():
    items = by_category(item("d", "dress"), item("j", "jumpsuit"), item("t", "top"), item("s", "skirt"))
    result = recommend(reading(upper=garment("top"), lower=garment("skirt"), whole=garment("dress")), items)
    assert skus(result, "whole") == ["d"]
    assert result["upper"] == [] and result["lower"] == []


def test_separates_gives_upper_and_lower():
    items = by_category(item("d", "dress"), item("t", "top"), item("s", "skirt"))
    result = recommend(reading(upper=garment("top"), lower=garment("skirt"), whole=garment("separates")), items)
    assert (skus(result, "upper"), skus(result, "lower"), result["whole"]) == (["t"], ["s"], [])


def test_only_the_predicted_category():
    items = {"shirt": [item("shirt", "shirt")], "t-shirt": [item("tee", "t-shirt")]}
    assert skus(recommend(reading(upper=garment("shirt")), items), "upper") == ["shirt"]


def test_top_k_and_no_duplicates():
    dup = item("dup", "shorts")
    items = {"shorts": [dup, dup] + [item(f"s{i}", "shorts", embedding=(1, i / 10, 0)) for i in range(6)]}
    result = recommend(reading(lower=garment("shorts")), items, top_k=4)
    assert len(result["lower"]) == 4
    assert len(set(skus(result, "lower"))) == 4
    assert len(recommend(reading(lower=garment("shorts")), items)["lower"]) == 3
    with pytest.raises(ValueError):
        recommend(reading(lower=garment("shorts")), items, top_k=0)


def test_result_items_carry_what_the_api_shows():
    result = recommend(reading(lower=garment("skirt")), by_category(item("k", "skirt")))
    assert result["lower"][0] == {"sku": "k", "name": "item k", "category": "skirt", "gender": "female",
                                  "price": 19.9, "currency": "EUR", "image_key": "inventory/k.jpg",
                                  "score": pytest.approx(1.15)}


def test_items_embedded_by_another_model_are_ranked_by_colour_alone():
    # Same look in numbers, but "old" was embedded by the previous garment model: its cosine
    # means nothing, so the colour decides, and the stale items are counted for the operator.
    items = by_category(item("old-same-look-far-colour", "skirt", hex="#d02020", model="garments-old"),
                        item("old-other-look-near-colour", "skirt", embedding=(0, 1, 0), model="garments-old"),
                        item("unknown-model", "skirt", model=None))
    result = recommend(reading(lower=garment("skirt")), items)
    assert skus(result, "lower")[0] == "old-other-look-near-colour"
    assert all(r["score"] <= 0.15 for r in result["lower"])  # colour term only
    assert stale_items(reading(lower=garment("skirt")), items) == 3
    # The same items embedded by the reading's model: the look counts again.
    fresh = by_category(item("same-look-far-colour", "skirt", hex="#d02020"),
                        item("other-look-near-colour", "skirt", embedding=(0, 1, 0)))
    assert skus(recommend(reading(lower=garment("skirt")), fresh), "lower")[0] == "same-look-far-colour"
    assert stale_items(reading(lower=garment("skirt")), fresh) == 0


def test_embedding_size_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match="re-import"):
        cosine([1, 0], [1, 0, 0])


def test_colour_closeness():
    assert colour_closeness("#123456", "#123456") == pytest.approx(1.0)
    assert colour_closeness("#000000", "#ffffff") == 0.0
    assert colour_closeness("#808080", "#7a7a7a") > colour_closeness("#808080", "#d02020")


def test_takes_the_pipeline_reading_as_it_comes_back_from_json():
    from lookmatch.garments import GarmentReading
    from lookmatch.pipeline import GenderOut, Reading

    def read(label, embedding, hex):
        return GarmentReading(label=label, score=0.8, embedding=list(embedding), colour=Colour(name="c", hex=hex))

    original = Reading(person=True, people_count=1, gender=GenderOut(label="male", score=0.9, source="face"),
                       upper=read("shirt", (0, 1, 0), "#202020"), lower=read("jeans", (1, 0, 0), "#3050a0"),
                       whole=read("separates", (0, 0, 1), "#303030"), garment_model=MODEL)
    reading = Reading.model_validate_json(original.model_dump_json())
    items = by_category(item("w-shirt", "shirt", gender="female"), item("u-shirt", "shirt", gender="unisex"),
                        item("m-jeans-far", "jeans", gender="male", embedding=(0, 0, 1)),
                        item("m-jeans", "jeans", gender="male", hex="#3050a0"))
    result = recommend(reading, items)
    assert skus(result, "upper") == ["u-shirt"]
    assert skus(result, "lower") == ["m-jeans", "m-jeans-far"] and result["whole"] == []


@pytest.mark.slow
def test_real_embeddings_put_the_same_category_nearest():
    """With the real garment model, an item's nearest other catalog item is mostly of its category."""
    from collections import Counter

    import numpy as np

    from lookmatch.config import REPO_ROOT, model_dir
    from lookmatch.garments import MODEL_FILE, GarmentModel
    from lookmatch.images import load_image
    from lookmatch.inventory import read_catalog

    if not (model_dir() / MODEL_FILE).is_file():
        pytest.skip(f"{MODEL_FILE} is not built yet (training/README.md)")
    folder = REPO_ROOT / "samples" / "catalog"
    rows = read_catalog(folder / "catalog.csv", folder / "images")
    model = GarmentModel()
    embeddings = np.stack([model.embed(load_image(folder / "images" / r.image)) for r in rows])
    similarity = embeddings @ embeddings.T
    np.fill_diagonal(similarity, -np.inf)
    nearest = similarity.argmax(axis=1)
    same = [rows[i].category == rows[j].category for i, j in enumerate(nearest)]
    # Chance (category frequencies of the catalog) is about 0.1.
    chance = sum((n / len(rows)) ** 2 for n in Counter(r.category for r in rows).values())
    assert np.mean(same) > max(0.4, 3 * chance), (np.mean(same), chance)  # measured 0.55


def test_match_score_adds_weighted_colour_to_look_and_skips_what_is_unread():
    assert match_score(0.5, 1.0, colour_weight=0.2) == pytest.approx(0.7)
    assert match_score(None, 0.5, colour_weight=0.2) == pytest.approx(0.1)  # look unreadable
    assert match_score(0.5, None) == pytest.approx(0.5)  # no colour
    assert match_score(0.5, 1.0, colour_weight=0.0) == pytest.approx(0.5)
