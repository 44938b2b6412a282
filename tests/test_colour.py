"""Dominant garment colour: synthetic crops with a known answer, and one real photo."""
import numpy as np
import pytest

from lookmatch.colour import dominant_colour, margins_part
from lookmatch.config import REPO_ROOT
from lookmatch.images import load_image


def crop(fill, border=(30, 160, 60), skin=None):
    """A 120x80 'crop': garment colour in the centre, background at the edges, optional arm of skin."""
    img = np.full((120, 80, 3), border, np.uint8)
    img[20:100, 15:65] = fill
    if skin is not None:
        img[30:90, 22:30] = skin
    return img


@pytest.mark.parametrize("fill,name", [((200, 30, 35), "red"), ((20, 20, 20), "black"),
                                       ((245, 245, 243), "white"), ((30, 40, 80), "navy"),
                                       ((240, 200, 60), "yellow")])
def test_named_colour_of_centre_not_background(fill, name):
    found = dominant_colour(crop(fill))
    assert found.name == name
    assert found.hex == "#{:02x}{:02x}{:02x}".format(*fill)


def test_skin_is_ignored_but_a_beige_garment_is_not():
    assert dominant_colour(crop((30, 40, 80), skin=(224, 172, 140))).name == "navy"
    assert dominant_colour(crop((217, 197, 160))).name == "beige"


def test_texture_gives_the_majority_colour():
    img = crop((200, 30, 35))
    img[20:100:6, 15:65] = (250, 250, 250)  # thin white stripes
    assert dominant_colour(img).name == "red"


def test_tiny_and_bad_inputs():
    assert dominant_colour(np.full((1, 1, 3), 20, np.uint8)).name == "black"
    with pytest.raises(ValueError):
        dominant_colour(np.zeros((10, 10), np.uint8))


@pytest.mark.parametrize("photo,box,names", [
    ("ccp_1065", (.25, .45, .36, .64), {"grey", "dark grey"}),  # grey t-shirt
    ("ccp_1012", (.2, .4, .3, .6), {"rose", "pink"}),  # dusty pink blouse
    ("ccp_1006", (.45, .75, .3, .6), {"mint"}),  # pale green dress
])
def test_real_photos(photo, box, names):
    # samples/photos (Clothing Co-Parsing, Apache-2.0): a hand-placed box on the garment.
    rgb = load_image(REPO_ROOT / "samples" / "photos" / f"{photo}.jpg")
    h, w = rgb.shape[:2]
    assert dominant_colour(rgb[int(box[0] * h):int(box[1] * h), int(box[2] * w):int(box[3] * w)]).name in names


def test_khaki_trousers_with_ground_between_the_legs():
    # Khaki falls in the skin range; here it is 60% of the part read, the ground the rest.
    img = np.full((120, 80, 3), (128, 128, 128), np.uint8)
    img[:, 22:34] = img[:, 46:58] = (148, 129, 60)
    assert dominant_colour(img).name == "khaki"


def test_the_part_read_is_chosen_by_a_mask():
    # A skirt over the top of a lower crop, bare legs and the pavement below it.
    img = np.full((150, 80, 3), (235, 235, 230), np.uint8)
    img[:50] = (20, 20, 25)
    img[50:, 24:36] = img[50:, 44:56] = (224, 172, 140)
    assert dominant_colour(img).name == "white"  # the centre: the pavement between the legs
    assert dominant_colour(img, margins_part(img.shape, (0.25, 0.02, 0.25, 0.6))).name == "black"
    with pytest.raises(ValueError, match="non-empty"):
        dominant_colour(img, np.zeros(img.shape[:2], bool))
    with pytest.raises(ValueError, match="non-empty"):
        dominant_colour(img, np.ones((10, 10), bool))
