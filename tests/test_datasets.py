"""Label mapping and the held-out split (lookmatch.datasets)."""
import pytest

from lookmatch import datasets
from lookmatch.contract import GENDERS, LOWER, UPPER, WHOLE


def test_ccp_masked_photo_takes_the_garment_with_most_pixels():
    entry = {"source": "pixel", "tags": ["shirt", "coat", "pants", "jeans", "skin"],
             "area": {"shirt": 0.01, "coat": 0.12, "pants": 0.002, "jeans": 0.05}}
    assert datasets.ccp_labels(entry) == {"upper": "outerwear", "lower": "jeans", "whole": "separates"}


def test_ccp_tag_only_photo_takes_the_outermost():
    entry = {"source": "image", "tags": ["t-shirt", "cardigan", "leggings", "skirt"]}
    assert datasets.ccp_labels(entry) == {"upper": "sweater", "lower": "skirt", "whole": "separates"}


def test_ccp_dress_needs_real_area_next_to_trousers():
    stray = {"source": "pixel", "tags": ["dress", "pants", "coat"], "area": {"dress": 0.0001, "pants": 0.04, "coat": 0.1}}
    worn = {"source": "pixel", "tags": ["dress", "jacket"], "area": {"dress": 0.15, "jacket": 0.07}}
    assert datasets.ccp_labels(stray)["whole"] == "separates"
    assert datasets.ccp_labels(worn) == {"upper": "outerwear", "lower": None, "whole": "dress"}
    assert datasets.ccp_labels({"source": "image", "tags": ["romper"]})["whole"] == "jumpsuit"


def test_ccp_vest_is_a_top_and_suit_gives_pants():
    assert datasets.ccp_labels({"source": "image", "tags": ["vest"]})["upper"] == "top"
    assert datasets.ccp_labels({"source": "image", "tags": ["suit", "shirt"]}) == \
        {"upper": "outerwear", "lower": "pants", "whole": "separates"}


def test_peta_rules():
    assert datasets.peta_labels(["personalMale", "lowerBodyJeans", "lowerBodyTrousers", "upperBodyTshirt"]) == \
        {"upper": "t-shirt", "lower": "jeans", "whole": "separates", "gender": "male"}
    # Denim shorts; a conflicting upper pair stays unknown.
    got = datasets.peta_labels(["personalFemale", "lowerBodyJeans", "lowerBodyShorts", "upperBodySweater", "upperBodyTshirt"])
    assert got == {"upper": None, "lower": "shorts", "whole": "separates", "gender": "female"}
    # Hot pants or a short skirt: ambiguous, unknown; a skirt says nothing of one/two pieces.
    assert datasets.peta_labels(["lowerBodyHotPants", "lowerBodyShortSkirt"])["lower"] is None
    assert datasets.peta_labels(["lowerBodyLongSkirt"]) == {"upper": None, "lower": "skirt", "whole": None, "gender": None}


def test_clothing_rules():
    assert datasets.clothing_labels("Polo", False) == {"upper": "t-shirt", "lower": None, "whole": None}
    assert datasets.clothing_labels("Dress", False)["whole"] == "dress"
    assert not any(datasets.clothing_labels("Dress", True).values())  # kids
    assert not any(datasets.clothing_labels("Pants", False).values())  # jeans not told apart
    assert not any(datasets.clothing_labels("Shoes", False).values())


def test_split_rule_is_stable():
    assert datasets.hash_split("peta", "CUHK/1") == datasets.hash_split("peta", "CUHK/1")
    splits = [datasets.hash_split("ccp", f"{i:04d}") for i in range(2000)]
    assert 0.15 < splits.count("test") / 2000 < 0.25 and 0.06 < splits.count("val") / 2000 < 0.14


def test_committed_split_files_cover_the_forced_samples():
    ccp = datasets.read_split("ccp")
    assert all(ccp[k] == "test" for k in datasets.CCP_FORCED_TEST)
    assert set(ccp.values()) == set(datasets.SPLITS)


@pytest.mark.needs_data
@pytest.mark.parametrize("name", datasets.DATASETS)
def test_split_files_match_the_rule_and_labels_are_contract_strings(name):
    assert datasets.make_split(name) == datasets.read_split(name)  # committed == regenerated
    rows = datasets.load(name)
    allowed = {"upper": UPPER, "lower": LOWER, "whole": WHOLE, "gender": GENDERS}
    for t in rows:
        for head, labels in allowed.items():
            assert t.label(head) is None or t.label(head) in labels
    # No group on both sides.
    by_group = {}
    for t in rows:
        assert by_group.setdefault(t.group, t.split) == t.split
    assert {t.split for t in rows} == set(datasets.SPLITS)


@pytest.mark.needs_data
def test_sample_photos_ground_truth():
    tags = {t.key: t for t in datasets.load("ccp", "test", ccp_source="tags")}
    assert tags["1065"].upper == "t-shirt" and tags["1065"].lower == "jeans"
    assert tags["1006"].whole == "dress"
    assert tags["1039"].lower == "shorts"
    eye = {t.key: t for t in datasets.load("ccp", "test", ccp_source="eye")}
    assert eye["1065"].upper == "sweater" and eye["1065"].lower == "jeans"  # a short-sleeved chunky knit
    assert eye["1006"].whole == "dress" and eye["1006"].upper is None  # nothing worn over the dress
    assert eye["1039"].lower == "shorts"


def test_by_eye_labels_cover_every_ccp_photo_with_contract_labels():
    import csv

    with open(datasets.CCP_GARMENTS_BY_EYE, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len({r["id"] for r in rows}) == 1842
    for r in rows:
        labels = datasets.ccp_eye_labels(r)
        assert labels["upper"] in (None, *UPPER) and labels["lower"] in (None, *LOWER)
        assert labels["whole"] in (None, *WHOLE)


def test_by_eye_none_and_unclear_are_unknown():
    row = {"upper": "none", "lower": "unclear", "whole": "dress", "unsure": "", "note": ""}
    assert datasets.ccp_eye_labels(row) == {"upper": None, "lower": None, "whole": "dress"}


def test_eye_sure_leaves_out_the_heads_marked_unsure():
    row = {"upper": "shirt", "lower": "jeans", "whole": "separates", "unsure": "lower+whole", "note": ""}
    assert datasets.ccp_eye_labels(row) == {"upper": "shirt", "lower": "jeans", "whole": "separates"}
    assert datasets.ccp_eye_labels(row, sure_only=True) == {"upper": "shirt", "lower": None, "whole": None}


@pytest.mark.needs_data
def test_eye_sure_is_the_by_eye_labels_less_the_unsure_heads():
    eye, sure = datasets.load("ccp", "test", ccp_source="eye"), datasets.load("ccp", "test", ccp_source="eye-sure")
    assert [t.key for t in eye] == [t.key for t in sure]
    for head in ("upper", "lower", "whole"):
        kept = [(a, b) for a, b in zip(eye, sure) if getattr(b, head) is not None]
        assert all(getattr(a, head) == getattr(b, head) for a, b in kept)
        assert 0 < len(kept) < sum(getattr(a, head) is not None for a in eye)


@pytest.mark.needs_data
def test_both_ccp_label_sources_share_photos_split_and_gender():
    eye, tags = datasets.load("ccp", ccp_source="eye"), datasets.load("ccp", ccp_source="tags")
    assert [(t.key, t.split, t.gender) for t in eye] == [(t.key, t.split, t.gender) for t in tags]
    assert any(a.upper != b.upper for a, b in zip(eye, tags))  # two readings, not one
    with pytest.raises(ValueError, match="label source"):
        datasets.load("ccp", ccp_source="masks")


@pytest.mark.needs_data
def test_ccp_gender_is_known_for_test_photos_only():
    rows = datasets.load("ccp")
    judged = [t for t in rows if t.gender]
    assert len(judged) > 300 and all(t.split == "test" for t in judged)  # never trained on
