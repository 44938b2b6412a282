"""Scoring predictions (lookmatch.evaluation) and the `lookmatch evaluate` command."""
import json

import pytest

from lookmatch import datasets, evaluation
from lookmatch.cli import main


def test_score_head_metrics_and_missing_predictions():
    s = evaluation.score_head(["a", "a", "a", "b"], ["a", "b", None, "b"], ("a", "b", "c"))
    assert s.n == 4 and s.accuracy == 0.5
    assert s.recall == {"a": pytest.approx(1 / 3), "b": 1.0}  # c absent from the truth: not averaged
    assert s.macro_recall == pytest.approx(2 / 3)
    assert s.confusion.tolist() == [[1, 1, 0, 1], [0, 1, 0, 0], [0, 0, 0, 0]]
    assert "(none)" in evaluation.format_confusion(s)


def test_wilson_interval_matches_known_values():
    # Reference values: the two p with |k/n - p| = z sqrt(p (1 - p) / n), found by root-finding
    # (scipy brentq); with k = 0 the upper bound is z^2 / (n + z^2).
    assert evaluation.wilson_interval(81, 263) == pytest.approx((0.2553, 0.3662), abs=1e-4)
    assert evaluation.wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert evaluation.wilson_interval(10, 10) == pytest.approx((0.7225, 1.0), abs=1e-4)
    low, high = evaluation.wilson_interval(150, 200)
    assert low < 0.75 < high and 0.11 < high - low < 0.13  # ~+-6 points on 200 photos
    s = evaluation.score_head(["a"] * 3 + ["b"], ["a", "b", None, "b"], ("a", "b"))
    assert s.accuracy_interval == evaluation.wilson_interval(2, 4)


def test_mcnemar_p_values():
    assert evaluation.mcnemar_p(0, 5) == pytest.approx(2 / 32)  # 5 of 5 discordant photos one way
    assert evaluation.mcnemar_p(1, 9) == pytest.approx(2 * 11 / 1024)
    assert evaluation.mcnemar_p(10, 7) == pytest.approx(0.6291, abs=1e-4)
    assert evaluation.mcnemar_p(4, 4) == 1.0 and evaluation.mcnemar_p(0, 0) == 1.0


def test_score_head_rejects_labels_outside_the_contract():
    with pytest.raises(ValueError, match="blazer"):
        evaluation.score_head(["a"], ["blazer"], ("a",))


@pytest.mark.parametrize("image,ref", [
    ("../shared/data/ccp/photos/0002.jpg", ("ccp", "0002")),
    ("peta/images/00001.jpg", ("peta", "00001")),
    ("samples/photos/ccp_1006.jpg", ("ccp", "1006")),
    ("/tmp/holiday.jpg", None),
])
def test_parse_image_ref(image, ref):
    assert evaluation.parse_image_ref(image) == ref


def line(image, person=True, **heads):
    obj = {"image": image, "person": person, "gender": None, "upper": None, "lower": None, "whole": None}
    obj.update({h: {"label": v, "score": 0.9} for h, v in heads.items()})
    return json.dumps(obj)


@pytest.mark.needs_data
def test_evaluate_predictions_against_the_test_split():
    test = [t for t in datasets.load("ccp", "test") if t.upper and t.lower][:4]
    train = datasets.load("ccp", "train")[0]
    lines = [
        line(f"../shared/data/ccp/photos/{test[0].key}.jpg", upper=test[0].upper, lower=test[0].lower, whole=test[0].whole),
        line(f"ccp/photos/{test[1].key}.jpg", upper=test[1].upper, lower=test[1].lower, whole=test[1].whole),
        line(f"ccp/photos/{test[2].key}.jpg", person=False),  # nobody found: wrong on every head
        line(f"ccp/photos/{train.key}.jpg", upper="top"),  # not a test photo: ignored
        json.dumps({"image": "ccp/photos/9999.jpg", "error": "cannot read"}),
    ]
    report = evaluation.evaluate_predictions(lines, "test")
    assert report.photos == 3 and report.unmatched == 2 and report.person_found == 2
    assert report.heads["upper"].n == 3 and report.heads["upper"].accuracy == pytest.approx(2 / 3)
    # ccp gender: judged by eye for test photos only; a line without gender is wrong on it
    judged = sum(1 for t in test[:3] if t.gender)
    assert report.heads["gender"].n == judged and report.heads["gender"].accuracy == 0
    text = evaluation.format_report(report)
    assert "person found: 2/3" in text and "[upper]" in text
    # all four heads scored: the score a model is chosen by on val (gender adds nothing: all wrong)
    expected = sum(report.heads[h].macro_recall for h in ("upper", "lower", "whole"))
    assert judged and report.selection_score == pytest.approx(expected) and f"{expected:.3f}" in text

    # the same photos read by another model: paired, photo by photo
    other = evaluation.evaluate_predictions([
        line(f"ccp/photos/{test[0].key}.jpg", upper="top" if test[0].upper != "top" else "shirt"),
        line(f"ccp/photos/{test[1].key}.jpg", upper=test[1].upper),
        line(f"ccp/photos/{test[2].key}.jpg", upper=test[2].upper),
    ], "test")
    c = evaluation.compare_reports(report, other)["upper"]
    assert (c.n, c.right_a, c.right_b, c.only_a, c.only_b) == (3, 2, 2, 1, 1) and c.p_value == 1.0
    assert "only A" in evaluation.format_comparison({"upper": c}, "a.jsonl", "b.jsonl")
    empty = evaluation.Report("test")  # no head scored: no selection score, and none printed
    assert empty.selection_score is None and "selection score" not in evaluation.format_report(empty)


@pytest.mark.needs_data
def test_peta_is_also_scored_per_person():
    """Several photos of one pedestrian weigh a per-photo accuracy towards that person: the
    report also gives the mean of each person's accuracy (ccp, one photo a person, gives none)."""
    by_person: dict[str, list] = {}
    for truth in datasets.load("peta", "test"):
        by_person.setdefault(truth.group, []).append(truth)
    many = next(photos for photos in by_person.values() if len(photos) >= 3)[:3]
    one = next(photos for photos in by_person.values() if len(photos) == 1)[0]
    wrong = {"male": "female", "female": "male"}
    lines = [line(f"peta/images/{t.key}.jpg", gender=t.gender) for t in many]  # 3 of 3 right
    lines.append(line(f"peta/images/{one.key}.jpg", gender=wrong[one.gender]))  # 0 of 1 right
    report = evaluation.evaluate_predictions(lines, "test")
    assert report.heads["gender"].accuracy == pytest.approx(3 / 4)
    assert report.per_person("gender") == (pytest.approx(1 / 2), 2)
    assert "gender 50.0% of 2" in evaluation.format_report(report)
    ccp = datasets.load("ccp", "test")[:2]
    single = evaluation.evaluate_predictions([line(f"ccp/photos/{t.key}.jpg", upper=t.upper) for t in ccp], "test")
    assert single.per_person("upper") is None and "per person" not in evaluation.format_report(single)


@pytest.mark.needs_data
def test_ccp_photos_are_scored_against_the_chosen_label_source():
    eye = {t.key: t for t in datasets.load("ccp", "test", ccp_source="eye")}
    tags = {t.key: t for t in datasets.load("ccp", "test", ccp_source="tags")}
    key = next(k for k in eye if eye[k].upper and tags[k].upper and eye[k].upper != tags[k].upper)
    lines = [line(f"ccp/photos/{key}.jpg", upper=eye[key].upper)]
    by_eye = evaluation.evaluate_predictions(lines, "test", ccp_source="eye")
    by_tags = evaluation.evaluate_predictions(lines, "test", ccp_source="tags")
    assert by_eye.heads["upper"].accuracy == 1 and by_tags.heads["upper"].accuracy == 0
    assert "ccp garment labels: tags" in evaluation.format_report(by_tags)


@pytest.mark.needs_data
def test_cli_lists_test_photos_and_scores_a_file(tmp_path, capsys):
    assert main(["evaluate", "--list-test", "ccp"]) == 0
    paths = capsys.readouterr().out.split()
    assert len(paths) == sum(1 for t in datasets.load("ccp") if t.split == "test")
    assert any(p.endswith("1065.jpg") for p in paths)
    assert main(["evaluate", "--list", "ccp", "--split", "val"]) == 0  # choosing models: val, not test
    val = capsys.readouterr().out.split()
    assert len(val) == sum(1 for t in datasets.load("ccp") if t.split == "val") and not set(val) & set(paths)
    t = datasets.load("peta", "test")[0]
    preds = tmp_path / "p.jsonl"
    preds.write_text(line(f"peta/images/{t.path.name}", gender=t.gender or "male") + "\n")
    assert main(["evaluate", str(preds)]) == 0
    assert "person found: 1/1" in capsys.readouterr().out
    assert main(["evaluate", str(preds), "--against", str(preds)]) == 0
    assert "only A" in capsys.readouterr().out
    preds.write_text(line(str(datasets.load("ccp", "test")[0].path)) + "\n")
    assert main(["evaluate", str(preds), "--ccp-labels", "tags"]) == 0
    assert "ccp garment labels: tags" in capsys.readouterr().out
    preds.write_text(line("elsewhere/x.jpg") + "\n")
    assert main(["evaluate", str(preds)]) == 1
    assert main(["evaluate", str(tmp_path / "missing.jsonl")]) == 1


def test_same_person_first_query_by_query():
    inf = float("inf")
    similarity = [[0.0, 0.9, 0.5, 0.1],
                  [0.9, 0.0, 0.95, 0.1],
                  [0.5, 0.95, 0.0, 0.1],
                  [-inf, -inf, -inf, 0.0]]  # the last row has nothing to rank
    # rows 0, 1 and 3 are A's (queries); row 2 is B's only photo (no query)
    hits = evaluation.same_person_first(similarity, ["A", "A", "B", "A"])
    assert hits.tolist() == [True, False, False]
    assert evaluation.same_person_first([], []).tolist() == []


def test_framings_cut_where_the_photos_own_pose_says():
    """Shoulder line y 100, hip line 200, knee line 300 (torso 100) in a 400-row photo."""
    import numpy as np

    from lookmatch.evaluation import FRAMINGS, cut, framed

    landmarks = np.zeros((33, 4))
    landmarks[[11, 12], 1], landmarks[[23, 24], 1], landmarks[[25, 26], 1] = 100, 200, 300
    rgb = np.arange(400, dtype=np.uint8).repeat(3).reshape(400, 1, 3)  # row i holds i % 256
    rows = {name: (int(framed(rgb, landmarks, name).shape[0])) for name in FRAMINGS}
    assert rows == {"chest up": 150, "waist up": 220, "hips down": 210, "thighs down": 150}
    assert framed(rgb, landmarks, "hips down")[0, 0, 0] == 190
    assert cut(rgb, landmarks, lambda s, h, k: (None, h + 0.1 * (h - s))).shape[0] == 210
    assert cut(rgb, landmarks, lambda s, h, k: (k, 1000)).shape[0] == 100  # a line past the edge stops there


def test_a_portrait_cut_keeps_the_chest_rows_inside_both_shoulders():
    """Shoulders at x 100 and 300 (width 200), y 100; hips at y 200: chest-up rows (150), the
    columns a tenth of the shoulder width inside each shoulder (120 to 280)."""
    import numpy as np

    from lookmatch.evaluation import portrait_cut

    landmarks = np.zeros((33, 4))
    landmarks[[11, 12], 0], landmarks[[11, 12], 1], landmarks[[23, 24], 1] = (300, 100), 100, 200
    rgb = np.arange(400, dtype=np.uint8).repeat(3).reshape(1, 400, 3).repeat(400, 0)  # column i holds i % 256
    portrait = portrait_cut(rgb, landmarks)
    assert portrait.shape == (150, 160, 3) and portrait[0, 0, 0] == 120


def test_a_photo_can_be_framed_only_upright_with_shoulders_hips_and_a_knee_in_frame():
    from types import SimpleNamespace

    import numpy as np

    from lookmatch.evaluation import can_be_framed

    landmarks = np.zeros((33, 4))
    landmarks[:, 0], landmarks[:, 3] = 50, 1.0  # every point in the middle column, present
    landmarks[[11, 12], 1], landmarks[[23, 24], 1], landmarks[[25, 26], 1] = 100, 200, 300

    def pose(lm, turns=0, person=True):
        return SimpleNamespace(person=person, turns=turns, landmarks=lm.tolist(), width=100, height=400)

    assert can_be_framed(pose(landmarks))
    no_knees = landmarks.copy()
    no_knees[[25, 26], 3] = 0.0  # knees not present in the picture
    assert not can_be_framed(pose(no_knees))
    assert not can_be_framed(pose(landmarks, turns=1)) and not can_be_framed(pose(landmarks, person=False))
