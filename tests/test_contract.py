import json

from lookmatch.contract import Labelled, Prediction


def test_prediction_line_matches_design_contract():
    line = Prediction(image="0001.jpg", person=True, gender=Labelled(label="female", score=0.97),
                      upper=Labelled(label="outerwear", score=0.81), lower=None,
                      whole=Labelled(label="separates", score=0.9)).to_json_line()
    assert json.loads(line) == {
        "image": "0001.jpg", "person": True,
        "gender": {"label": "female", "score": 0.97},
        "upper": {"label": "outerwear", "score": 0.81},
        "lower": None,
        "whole": {"label": "separates", "score": 0.9},
    }


def test_error_line_says_why():
    line = json.loads(Prediction(image="x.jpg", error="not an image").to_json_line())
    assert line["error"] == "not an image" and line["person"] is False
