"""Gender: the real int8 face model on the sample photos, the body fallback, the contract."""
import numpy as np
import pytest

from lookmatch import gender as G
from lookmatch.contract import GENDERS, Labelled
from lookmatch.regions import Box


@pytest.fixture(scope="module")
def model():
    return G.GenderModel()


# Checked by eye: four women and, in ccp_1039, a man (short hair, glasses, shirt and shorts).
# The pretrained baseline reads ccp_1012 (white sunglasses) as a man at 0.95.
SAMPLE_GENDER = {"ccp_1006": "female", "ccp_1012": "female", "ccp_1014": "female",
                 "ccp_1039": "male", "ccp_1065": "female"}


def test_the_sample_people_are_read_right_from_their_faces(model, sample_readings):
    for path, rgb, r in sample_readings:
        reading = model.predict(rgb, r.boxes["head"])
        assert reading is not None, path.name
        assert reading.source == "face", path.name  # every sample faces the camera
        assert reading.label == SAMPLE_GENDER[path.stem], path.name
        assert 0.5 <= reading.score <= 1.0
        # an unsure body reading that disagrees lowers the score; it overturns only an unsure face
        wrong = "male" if reading.label == "female" else "female"
        both = model.predict(rgb, r.boxes["head"], body=Labelled(label=wrong, score=0.6))
        assert both.source == "face+body" and both.score <= reading.score, path.name
        if reading.score >= 0.7:
            assert both.label == reading.label, path.name


def test_fuse_adds_the_evidence_of_face_and_body():
    unsure_face = np.array([0.45, 0.55])
    sure_female_body = Labelled(label="female", score=0.95)
    assert G.fuse(unsure_face, sure_female_body).argmax() == 0  # the sure body decides
    sure_face = np.array([0.02, 0.98])
    assert G.fuse(sure_face, sure_female_body).argmax() == 1  # a sure face outweighs it
    agreeing = G.fuse(unsure_face, Labelled(label="male", score=0.8))
    assert agreeing[1] > unsure_face[1] and abs(agreeing.sum() - 1) < 1e-9
    assert np.allclose(G.fuse(unsure_face, Labelled(label="male", score=0.5)), unsure_face)  # no evidence


def test_chip_is_what_the_model_reads(model, sample_readings):
    _, rgb, r = sample_readings[0]
    face = G.usable_face(model.detector.detect_in_box(rgb, r.boxes["head"]))
    chip = G.face_chip(rgb, face)
    assert chip.shape == (G.CHIP, G.CHIP, 3) and chip.dtype == np.uint8
    p = model.face_probabilities(chip[None])
    assert p.shape == (1, 2) and abs(p.sum() - 1) < 0.02 and (p >= 0).all()
    # a mirrored face is the same person: same answer
    assert model.face_probabilities(chip[None, :, ::-1].copy()).argmax() == p.argmax()


def test_no_face_falls_back_to_the_body_and_says_it_is_less_sure(model, sample_readings):
    _, rgb, r = sample_readings[0]
    legs = r.boxes["lower"]  # a "head box" with no face in it, as for a back view
    body = Labelled(label="male", score=0.9)
    reading = model.predict(rgb, legs, body=body)
    assert reading.source == "body" and reading.label == "male"
    assert 0.5 <= reading.score < body.score
    assert model.predict(rgb, None, body=body).source == "body"  # no head in the picture


def test_nothing_to_read_gives_none(model):
    grey = np.full((300, 200, 3), 120, np.uint8)
    assert model.predict(grey, Box(x0=50, y0=10, x1=150, y1=110)) is None
    assert model.predict(grey, None) is None


def test_tiny_faces_are_not_read(model, sample_readings):
    # the photos shrunk to 1/5 (eyes ~3-4 px apart): the face path refuses them, the body answers
    import cv2

    f = 0.2
    for path, rgb, r in sample_readings:
        small = cv2.resize(rgb, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
        h = r.boxes["head"]
        head = Box(x0=int(h.x0 * f), y0=int(h.y0 * f), x1=int(np.ceil(h.x1 * f)), y1=int(np.ceil(h.y1 * f)))
        assert G.usable_face(model.detector.detect_in_box(small, head)) is None, path.name
        reading = model.predict(small, head, body=Labelled(label="female", score=0.7))
        assert reading.source == "body", path.name


def test_body_label_outside_the_contract_is_refused(model):
    with pytest.raises(ValueError, match="not one of"):
        model.predict(np.zeros((64, 64, 3), np.uint8), None, body=Labelled(label="woman", score=0.8))


@pytest.mark.parametrize("p", [0.5, 0.6, 0.99, 1.0])
def test_shrunk_body_score_stays_a_probability_below_the_body_score(p):
    s = G.shrink(p)
    assert 0.5 <= s <= p


def test_reading_labels_are_the_contract(model, sample_readings):
    _, rgb, r = sample_readings[1]
    reading = model.predict(rgb, r.boxes["head"])
    assert reading.label in GENDERS
    assert reading.labelled().label in GENDERS


@pytest.mark.slow
def test_accuracy_on_held_out_utkface_faces(model):
    """UTKFace test split through the real detector and alignment (needs ../shared/data)."""
    from lookmatch import datasets
    from lookmatch.config import data_dir
    from lookmatch.images import load_image

    root = data_dir() / "utkface"
    if not root.is_dir():
        pytest.skip("UTKFace data not available")
    split = datasets.read_split("utkface")
    import csv

    with open(root / "labels.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if split[r["file"]] == "test"][::3]
    right = 0
    for row in rows:
        rgb = load_image(root / "images" / row["file"])
        reading = model.predict(rgb, Box(x0=0, y0=0, x1=rgb.shape[1], y1=rgb.shape[0]))
        right += reading is not None and reading.label == row["gender"]
    assert right / len(rows) >= 0.95
