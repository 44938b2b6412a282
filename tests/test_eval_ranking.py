"""scripts/eval_ranking.py: the ranking measure behind COLOUR_WEIGHT (docs/measurements.md, "Ranking by look and colour")."""
import sys

from lookmatch.config import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "scripts"))
from eval_ranking import hits  # noqa: E402

RED, BLUE = "#d02020", "#2030d0"
PHOTOS = [  # (person, {region: (predicted label, embedding, colour hex)})
    ("A", {"upper": ("shirt", [1.0, 0.0], RED)}),
    ("A", {"upper": ("shirt", [0.8, 0.6], RED)}),
    ("B", {"upper": ("shirt", [0.9, 0.436], BLUE)}),
    ("A", {"upper": ("t-shirt", [1.0, 0.0], RED)}),  # the same look, another predicted label
    ("C", {"lower": ("jeans", [1.0, 0.0], BLUE)}),
]


def test_colour_can_bring_the_same_garment_first_and_other_labels_are_not_ranked():
    # queries: A's three photos (B and C have no second photo). By look alone B's photo is the
    # nearest to A's first; the same red brings A's second photo first. A's t-shirt photo is no
    # candidate for A's shirt photos, and as a query it has no gallery of its label: a miss.
    assert hits(PHOTOS, "upper", 0.0) == [False, False, False]
    assert hits(PHOTOS, "upper", 0.15) == [True, False, False]
    assert hits(PHOTOS, "lower", 0.15) == []  # C's single photo: nothing to find
