"""The whole vision pipeline (pose -> classify) and `lookmatch predict`, on the real models."""
import json


from lookmatch.cli import main
from lookmatch.config import REPO_ROOT
from lookmatch.contract import GARMENT_LABELS, GENDERS
from lookmatch.garments import garment_model
from lookmatch.pipeline import Reading, classify


def test_classify_gives_contract_labels_with_embeddings_and_colours(sample_readings):
    for path, rgb, pose in sample_readings:
        reading = classify(rgb, pose)
        assert reading.person and reading.gender is not None, path.name
        assert reading.gender.label in GENDERS and reading.gender.source in ("face", "face+body", "body")
        for region, labels in GARMENT_LABELS.items():
            garment = getattr(reading, region)
            assert garment is not None, f"{path.name}: no {region} garment on a full-body photo"
            assert garment.label in labels and 0 < garment.score <= 1
            assert abs(sum(v * v for v in garment.embedding) - 1) < 1e-3  # unit length
            assert garment.colour.hex.startswith("#")
        # reading.json round trip (Classify writes it, Recommend reads it back)
        assert Reading.model_validate_json(reading.model_dump_json()) == reading


def test_a_person_far_away_is_read_from_a_sharper_decode(sample_photos, far_away, tmp_path):
    """At a third of the picture's height the person is ~250 px tall in the working image; the
    crops come from a decode where they are as big as in the original photo, and this sample then
    reads as it does on its own (read on the working image alone, some of its garments differ:
    the check that the sharper decode is what makes the difference)."""
    import cv2

    from lookmatch.images import load_image
    from lookmatch.pipeline import detail_side, predict_file, read_pose

    photo = sample_photos[0]  # ccp_1006
    far = tmp_path / "far.jpg"
    cv2.imwrite(str(far), far_away(cv2.imread(str(photo))), [cv2.IMWRITE_JPEG_QUALITY, 92])
    working = load_image(far)
    pose = read_pose(working)
    assert detail_side(pose) > 2 * max(pose.width, pose.height)
    near, away = predict_file(photo), predict_file(far)
    from_working = classify(working, pose).prediction(str(far))

    def labels(p):
        return [g.label for g in (p.gender, p.upper, p.lower, p.whole)]

    assert labels(away) == labels(near)
    assert labels(from_working) != labels(near)


def test_a_dark_copy_of_a_photo_reads_like_the_photo(sample_readings):
    """At 30% of its brightness (an evening shot) the sample's garments and their colours read as
    in the photo: classify brightens a dark picture (images.brightened). Without that, this
    photo's skirt read as pants and both colours as dark grey."""
    import numpy as np

    _, rgb, pose = sample_readings[0]  # ccp_1006: white top, mint skirt
    dark = (rgb * 0.3).astype(np.uint8)

    def labels(reading):
        return [(g.label, g.colour.name) for g in (reading.upper, reading.lower, reading.whole)]

    assert labels(classify(dark, pose)) == labels(classify(rgb, pose))


def test_nobody_gives_person_false(sample_readings):
    import numpy as np

    from lookmatch.pipeline import read_pose

    blank = np.full((480, 320, 3), 200, np.uint8)
    reading = classify(blank, read_pose(blank))
    assert reading.prediction("blank.jpg").model_dump() == {
        "image": "blank.jpg", "person": False, "gender": None, "upper": None, "lower": None,
        "whole": None, "error": None}


def test_a_photo_cut_at_the_side_through_a_shoulder_is_still_read(sample_photos):
    """Framed tight at the side, one shoulder just out of the picture (evaluation.side_cut): every
    sample still reads its upper, lower and whole garment, as it does in the full photo."""
    import numpy as np

    from lookmatch.evaluation import side_cut
    from lookmatch.images import load_image
    from lookmatch.pipeline import read_pose

    for path in sample_photos:
        rgb = load_image(path)
        full = read_pose(rgb)
        cut = side_cut(rgb, np.array(full.landmarks))
        assert cut.shape[1] < rgb.shape[1]
        reading = classify(cut, read_pose(cut))
        assert reading.person and None not in (reading.upper, reading.lower, reading.whole), path.stem


def test_a_photo_of_the_legs_only_reads_the_lower_garment_alone_and_the_top_half_no_lower_or_whole(sample_photos):
    """Cut below the hips, these samples make BlazePose squeeze a whole skeleton, head and all,
    into the legs; the upper-body check (GarmentModel.shows_upper_body) finds its "upper body" is
    legs. The answer is the lower garment read in its whole-body box when it is sure
    (pipeline.read_legs_only), else nobody: never a made-up head, top, gender or whole-body garment.
    Cut above the hips, every sample keeps its upper garment and reports no lower one, and no
    whole-body garment when the cut is above the hips themselves (chest up)."""
    import numpy as np

    from lookmatch.evaluation import framed
    from lookmatch.images import load_image
    from lookmatch.pipeline import read_pose

    # sample: (cut, what the legs answer reads; None: nobody). The skeleton made up in ccp_1006
    # (a long dress) lies upside down: read_pose turned the photo by it, and its "legs" box holds
    # the shoes, read as trousers. A wrong answer (docs/measurements.md, "The legs answer"),
    # pinned here so that a change to it is seen.
    made_up = {"ccp_1006": ("hips down", "pants"), "ccp_1012": ("thighs down", "skirt"),
               "ccp_1014": ("thighs down", None), "ccp_1065": ("thighs down", "jeans")}
    for path in sample_photos:
        rgb = load_image(path)
        landmarks = np.array(read_pose(rgb).landmarks)
        if path.stem in made_up:
            framing, lower = made_up[path.stem]
            legs = framed(rgb, landmarks, framing)
            pose = read_pose(legs)
            assert pose.person and pose.boxes["upper"] is not None, f"{path.stem}: no made-up skeleton to catch"
            reading = classify(legs, pose)
            assert [reading.gender, reading.upper, reading.whole] == [None] * 3, path.stem
            assert reading.person is (lower is not None) and reading.legs_only is reading.person, path.stem
            assert (reading.lower and reading.lower.label) == lower, path.stem
        for framing in ("chest up", "waist up"):
            top = framed(rgb, landmarks, framing)
            reading = classify(top, read_pose(top))
            assert reading.person and reading.upper is not None and reading.lower is None, (path.stem, framing)
            # Cut above the hips, dress or separates is not in the picture; cut below them, it is.
            assert (reading.whole is None) == (framing == "chest up"), (path.stem, framing)
            assert reading.gender is not None and not reading.legs_only, (path.stem, framing)


def test_a_photo_framed_from_the_knees_up_keeps_its_lower_garment(sample_photos):
    """The lower-garment check (GarmentModel.shows_lower_garment) drops the lower garment of a
    photo cut at the waist (test above), not of one that stops at the knees: each sample with its
    bottom 28% cut off (scripts/eval_robustness.py "knees up") still has one. A first fit of the
    check, which had seen no thighs cut short, took them for a waistband (model card)."""
    from lookmatch.images import load_image
    from lookmatch.pipeline import read_pose

    model = garment_model()
    assert model.upper_body_check is not None and model.upper_body_check.lower is not None
    for path in sample_photos:
        rgb = load_image(path)
        knees_up = rgb[: round(rgb.shape[0] * 0.72)]
        assert classify(knees_up, read_pose(knees_up)).lower is not None, path.stem


def test_a_product_photo_with_a_skeleton_in_it_is_nobody():
    """BlazePose finds a skeleton in some product photos (demo catalog). Their crops show neither
    an upper body nor legs (GarmentModel.shows_legs), so the answer is nobody, not a garment read
    off a made-up person."""
    from lookmatch.garments import GarmentModel
    from lookmatch.images import load_image
    from lookmatch.pipeline import read_pose

    model = garment_model()
    unchecked = GarmentModel(upper_body_check=False)
    for name in ("LM-DR-006", "LM-OW-012", "LM-PA-024", "LM-SO-013"):
        rgb = load_image(REPO_ROOT / "samples" / "catalog" / "images" / f"{name}.jpg")
        pose = read_pose(rgb)
        assert pose.person, f"{name}: no skeleton found"
        crops = classify(rgb, pose, unchecked)
        assert not model.shows_upper_body(crops.upper, crops.whole) and not model.shows_legs(crops.upper, crops.whole), name
        assert classify(rgb, pose).person is False, name


def test_a_garment_hung_up_that_stands_as_a_framed_person_is_nobody(sample_readings):
    """The framed try (pose.PoseEstimator.detect_framed) stands these hung-up garments of the demo
    catalog up as people filling the frame, landmarks and all, and neither the upper-body check nor
    the legs check rejects them. The product check (GarmentModel.shows_person), asked only of a
    person found without the detector, does: the answer is nobody. A person the detector found is
    never asked it."""
    from lookmatch.garments import GarmentModel, LinearCheck
    from lookmatch.images import load_image
    from lookmatch.pipeline import read_pose

    model = garment_model()
    assert model.upper_body_check is not None and model.upper_body_check.product is not None
    other = GarmentModel()  # the same model, with its product check changed below
    other.upper_body_check = model.upper_body_check.model_copy(update={"product": None})
    for name in ("LM-DR-023", "LM-SH-006"):
        rgb = load_image(REPO_ROOT / "samples" / "catalog" / "images" / f"{name}.jpg")
        pose = read_pose(rgb)
        assert pose.found_without_detector, f"{name}: not found by the framed try"
        assert classify(rgb, pose).person is False, name
        assert classify(rgb, pose, other).person is True, f"{name}: the product check is not what rejects it"
    other.upper_body_check = model.upper_body_check.model_copy(update={"product": LinearCheck(
        threshold=1e9, bias=0.0, weights=[0.0] * len(model.upper_body_check.weights))})  # rejects all
    _, rgb, pose = sample_readings[0]
    assert not pose.found_without_detector and classify(rgb, pose, other).person


def test_predict_command_writes_one_contract_line_per_photo_and_goes_past_bad_files(
        tmp_path, sample_photos, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(sample_photos[0].read_bytes())
    (folder / "broken.jpg").write_bytes(b"this is not a photo")
    out = tmp_path / "out.jsonl"
    assert main(["predict", str(folder), str(sample_photos[1]), "--out", str(out)]) == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["image"].rsplit("/", 1)[-1] for line in lines] == ["a.jpg", "broken.jpg", sample_photos[1].name]
    good, bad = lines[0], lines[1]
    assert set(good) == {"image", "person", "gender", "upper", "lower", "whole"} and good["person"]
    assert bad["person"] is False and "image" in bad["error"].lower()
    assert "predict" in capsys.readouterr().err  # the progress bar goes to stderr


def test_predict_command_goes_past_a_photo_that_meets_a_bug(tmp_path, sample_photos, monkeypatch, capsys):
    import lookmatch.pipeline

    real = lookmatch.pipeline.predict_file

    def predict_file(path):
        if path == sample_photos[0]:
            raise AttributeError("'NoneType' object has no attribute 'x0'")
        return real(path)

    monkeypatch.setattr(lookmatch.pipeline, "predict_file", predict_file)
    out = tmp_path / "out.jsonl"
    assert main(["predict", str(sample_photos[0]), str(sample_photos[1]), "--out", str(out)]) == 0
    first, second = [json.loads(line) for line in out.read_text().splitlines()]
    assert first["error"] == "unexpected error: AttributeError: 'NoneType' object has no attribute 'x0'"
    assert first["person"] is False and second["person"] and "error" not in second
    assert "Traceback" in capsys.readouterr().err


def test_predict_refuses_an_empty_folder(tmp_path):
    assert main(["predict", str(tmp_path), "--out", str(tmp_path / "x.jsonl")]) == 2
