"""Body-region geometry on synthetic landmarks (no models)."""
import cv2
import numpy as np
import pytest

from lookmatch.colour import dominant_colour
from lookmatch.pose import in_frame
from lookmatch.regions import (REGIONS, Box, body_regions, colour_part, hips_in_frame, landmark_box, main_person,
                               upright_turns)

W, H = 400, 800

# A person standing upright, facing the camera, in a 400x800 picture: (x, y) of the 33 landmarks.
STANDING = {
    0: (200, 100), 1: (208, 92), 2: (212, 92), 3: (216, 92), 4: (192, 92), 5: (188, 92),
    6: (184, 92), 7: (224, 98), 8: (176, 98), 9: (206, 115), 10: (194, 115),
    11: (250, 170), 12: (150, 170), 13: (265, 260), 14: (135, 260), 15: (270, 340),
    16: (130, 340), 17: (272, 355), 18: (128, 355), 19: (270, 360), 20: (130, 360),
    21: (265, 350), 22: (135, 350), 23: (230, 400), 24: (170, 400), 25: (232, 550),
    26: (168, 550), 27: (232, 700), 28: (168, 700), 29: (230, 715), 30: (170, 715),
    31: (245, 730), 32: (155, 730),
}
HEAD, SHOULDERS, HIPS = range(11), [11, 12], [23, 24]
KNEES, ANKLES, FEET = [25, 26], [27, 28], [27, 28, 29, 30, 31, 32]


def person(scale=1.0, dx=0.0, dy=0.0, vis=1.0, presence=1.0):
    """(33, 4) landmarks [x, y, visibility, presence] of STANDING, scaled about (0, 0) and shifted."""
    lm = np.array([[x * scale + dx, y * scale + dy, vis, presence] for x, y in
                   (STANDING[i] for i in range(33))], dtype=float)
    return lm


def cut_at(lm, height):
    """Like a photo cropped at `height`: landmarks below it are out of frame (presence ~0)."""
    lm = lm.copy()
    lm[lm[:, 1] > height, 3] = 0.02
    return lm


def check_inside(boxes, width=W, height=H):
    for name, b in boxes.items():
        if b is not None:
            assert 0 <= b.x0 < b.x1 <= width and 0 <= b.y0 < b.y1 <= height, name


def test_full_body_gives_every_region_in_order():
    boxes = body_regions(person(), W, H)
    assert set(boxes) == set(REGIONS) and all(boxes.values())
    check_inside(boxes)
    head, upper, lower, whole, feet = (boxes[k] for k in ("head", "upper", "lower", "whole", "feet"))
    # top-to-bottom: tops and centres both ordered
    assert head.y0 < upper.y0 < lower.y0 < feet.y0
    assert head.center[1] < upper.center[1] < lower.center[1] < feet.center[1]
    # each part holds its landmarks; whole holds every part
    lm = person()
    for box, idx in ((head, HEAD), (upper, SHOULDERS + HIPS), (lower, HIPS + KNEES + ANKLES), (feet, FEET)):
        for i in idx:
            assert box.x0 <= lm[i, 0] <= box.x1 and box.y0 <= lm[i, 1] <= box.y1
    for b in (head, upper, lower, feet):
        assert whole.x0 <= b.x0 and whole.y0 <= b.y0 and b.x1 <= whole.x1 and b.y1 <= whole.y1
    # the head is a head, not the whole top of the picture
    assert head.height < 0.25 * upper.height + 100 and head.y1 < upper.center[1]
    assert head.y0 < 92  # hair above the eyes is included


def test_lower_body_out_of_frame_gives_no_lower_and_no_feet():
    # photo cut just below the hips: a sliver of waistband is not a lower-body crop
    height = 430
    boxes = body_regions(cut_at(person(), height), W, height)
    assert boxes["lower"] is None and boxes["feet"] is None
    assert boxes["head"] is not None and boxes["upper"] is not None and boxes["whole"] is not None
    check_inside(boxes, height=height)


def test_thigh_length_view_keeps_a_lower_box_to_the_edge():
    # cut mid-thigh (knees out of frame) with more than half a torso below the hips
    height = 520
    boxes = body_regions(cut_at(person(), height), W, height)
    assert boxes["lower"] is not None and boxes["lower"].y1 == height
    assert boxes["lower"].y0 < 400 < boxes["lower"].y1
    assert boxes["feet"] is None


def test_knees_in_frame_but_ankles_not():
    height = 620
    boxes = body_regions(cut_at(person(), height), W, height)
    assert boxes["lower"] is not None and boxes["lower"].y1 > 550
    assert boxes["feet"] is None


def test_hips_out_of_frame_upper_reaches_the_edge():
    height = 330
    boxes = body_regions(cut_at(person(), height), W, height)
    assert boxes["upper"] is not None and boxes["upper"].y1 == height
    assert boxes["lower"] is None and boxes["feet"] is None


def test_the_whole_body_garment_needs_both_hips_in_frame():
    assert hips_in_frame(person(), H)
    assert hips_in_frame(cut_at(person(), 430), 430)  # cut below the hips: the waist is there
    assert not hips_in_frame(cut_at(person(), 330), 330)  # cut at the chest
    edge = cut_at(person(), 405)  # hips just above the edge: the landmark model is unsure of them
    edge[HIPS, 3] = 0.3
    assert hips_in_frame(edge, 405)


def test_hips_just_above_the_top_edge_give_a_lower_box_to_the_bottom():
    # BlazePose on a photo of the legs only (ccp 1011's bottom 55%) squeezed a torso into the top
    # edge: shoulders at y 1 and -3, hips at -2 and -4 (in frame by the edge tolerance), knees
    # unsure. The lower box used to come out empty and body_regions raised AttributeError.
    lm = person()
    lm[SHOULDERS, 1] = (1.0, -3.0)
    lm[HIPS, 1] = (-2.0, -4.0)
    lm[KNEES + FEET, 3] = 0.3
    height = 282
    boxes = body_regions(lm, W, height)
    assert boxes["lower"] is not None and boxes["lower"].y0 == 0 and boxes["lower"].y1 == height
    check_inside(boxes, height=height)


def test_head_only():
    lm = cut_at(person(), 140)
    boxes = body_regions(lm, W, 140)
    assert boxes["head"] is not None
    assert boxes["upper"] is boxes["lower"] is boxes["whole"] is boxes["feet"] is None


def test_no_landmark_in_frame_gives_nothing():
    boxes = body_regions(person(presence=0.1), W, H)
    assert all(v is None for v in boxes.values())


def test_points_outside_the_picture_do_not_count_even_if_present():
    lm = person(dy=-150)  # shifted up: the head is above the top edge, presence still claims 1
    ok = in_frame(lm, W, H)
    assert not ok[list(HEAD)].any() and ok[SHOULDERS].all()
    boxes = body_regions(lm, W, H)
    assert boxes["head"] is None and boxes["upper"] is not None


def test_a_shoulder_cut_off_at_the_side_still_counts():
    """A photo framed tight at the side: the landmark model places the cut-off shoulder and hip
    beside the picture, sure they are there. The body is still boxed, clipped to the picture
    (when only points in the picture counted, ccp val photos cut so read nothing but the face)."""
    lm = person(dx=-200)  # the right shoulder and hip at x -50 and -30: beside the left edge
    assert not in_frame(lm, W, H)[SHOULDERS + HIPS].all()
    boxes = body_regions(lm, W, H)
    assert all(boxes[region] is not None for region in ("upper", "lower", "whole"))
    check_inside(boxes)
    assert boxes["upper"].x0 == boxes["lower"].x0 == 0 and hips_in_frame(lm, H)
    unsure = lm.copy()
    unsure[lm[:, 0] < 0, 3] = 0.1  # beside the picture and not present: they do not count
    assert body_regions(unsure, W, H)["upper"] is None


def test_a_picture_narrower_than_the_shoulders_boxes_no_upper_body():
    """A close-up of the face: both shoulders beside the picture, one each side. Neither has its
    partner in frame, so they box no "upper body" (it would be the face)."""
    close_up = person(scale=3.0, dx=-550, dy=-210)  # shoulders at x 200 and -100 in a 100 px picture
    assert (close_up[SHOULDERS, 0] < 0).any() and (close_up[SHOULDERS, 0] > 100).any()
    boxes = body_regions(close_up, 100, 400)
    assert boxes["upper"] is None and boxes["whole"] is None


def test_boxes_clip_to_the_picture():
    boxes = body_regions(person(dx=-140), W, H)  # the right side of the body is off the left edge
    check_inside(boxes)
    assert boxes["upper"].x0 == 0 and boxes["whole"].x0 == 0


def test_margins_scale_with_the_body():
    small = body_regions(person(scale=0.5), W, H)
    big = body_regions(person(scale=1.0), W, H)
    for name in ("upper", "lower", "head"):
        ratio = big[name].width / small[name].width
        assert 1.8 < ratio < 2.2, (name, ratio)


def test_box_json_round_trip_and_crop():
    box = Box.clipped(-5.2, 10.5, 50.1, 900, W, H)
    assert box == Box(x0=0, y0=10, x1=51, y1=800)
    assert Box.model_validate_json(box.model_dump_json()) == box
    img = np.zeros((H, W, 3), np.uint8)
    assert box.crop(img).shape == (790, 51, 3) and box.area == 51 * 790
    assert Box.clipped(500, 10, 600, 20, W, H) is None


def test_main_person_prefers_large_and_central():
    big_centre = landmark_box(person(), W, H)
    small_centre = landmark_box(person(scale=0.4, dx=120, dy=250), W, H)
    big_edge = Box(x0=0, y0=0, x1=100, y1=800)
    assert main_person([small_centre, big_centre], W, H) == 1
    assert main_person([big_edge, big_centre], W, H) == 1
    # a big person at the edge still beats a much smaller one in the middle
    assert main_person([big_edge, small_centre], W, H) == 0
    assert main_person([None, small_centre], W, H) == 1
    assert main_person([], W, H) is None


@pytest.mark.parametrize("vis", [0.05, 1.0])
def test_occluded_but_present_points_still_count(vis):
    # visibility (occlusion) does not remove a region: presence (in frame) decides
    boxes = body_regions(person(vis=vis), W, H)
    assert all(boxes.values())


def test_box_scaled_to_a_resized_picture():
    box = Box(x0=10, y0=20, x1=50, y1=100)
    assert box.scaled(2.0, 2.0, 200, 400) == Box(x0=20, y0=40, x1=100, y1=200)
    assert box.scaled(2.5, 2.5, 120, 1000) == Box(x0=25, y0=50, x1=120, y1=250)  # clipped to the picture


def spread_legs():
    """STANDING with the feet apart: the ground shows between the legs."""
    lm = person()
    lm[25, :2], lm[26, :2], lm[27, :2], lm[28, :2] = (255, 550), (145, 550), (280, 700), (120, 700)
    return lm


def at(part, box, x, y):
    """The mask's value at picture point (x, y)."""
    return bool(part[int(y) - box.y0, int(x) - box.x0])


def test_colour_is_read_along_the_legs_not_between_them():
    lm = spread_legs()
    box = body_regions(lm, W, H)["lower"]
    part = colour_part(lm, W, H, box, "lower")
    assert part.shape == (box.height, box.width)
    for hip, knee, ankle in ((23, 25, 27), (24, 26, 28)):
        assert at(part, box, *(lm[hip, :2] + lm[knee, :2]) / 2) and at(part, box, *(lm[knee, :2] + lm[ankle, :2]) / 2)
    assert not at(part, box, 200, 690)  # between the ankles
    # Navy trousers on pale pavement: the crop's centre is mostly pavement, the legs are navy.
    img = np.full((H, W, 3), (200, 200, 195), np.uint8)
    for a, b in ((23, 25), (25, 27), (24, 26), (26, 28)):
        cv2.line(img, tuple(map(int, lm[a, :2])), tuple(map(int, lm[b, :2])), (25, 35, 90), 34)
    assert dominant_colour(box.crop(img)).name == "light grey"
    assert dominant_colour(box.crop(img), part).name == "navy"


def test_upper_colour_is_read_on_the_upper_arms_and_torso_sides():
    lm = person()
    box = body_regions(lm, W, H)["upper"]
    part = colour_part(lm, W, H, box, "upper")
    assert part.shape == (box.height, box.width)
    assert at(part, box, *(lm[11, :2] + lm[13, :2]) / 2) and at(part, box, *(lm[12, :2] + lm[14, :2]) / 2)
    assert at(part, box, 240, 250) and at(part, box, 160, 250)  # the sides, where an open jacket is
    assert not at(part, box, 200, 395)  # the waist: the last quarter of the torso is not read
    assert not (part[0].any() or part[-1].any())  # nothing at the crop's top and bottom edges


def test_no_colour_part_without_the_points_it_needs():
    lm = cut_at(person(), 540)  # knees out of frame: the lower box runs to the edge
    boxes = body_regions(lm, W, 540)
    assert boxes["lower"] is not None and colour_part(lm, W, 540, boxes["lower"], "lower") is None
    lm = cut_at(person(), 330)  # hips out of frame
    boxes = body_regions(lm, W, 330)
    assert boxes["upper"] is not None and colour_part(lm, W, 330, boxes["upper"], "upper") is None
    assert colour_part(person(), W, H, body_regions(person(), W, H)["whole"], "whole") is None


def turned_clockwise(lm, width, height):
    """The landmarks of a width x height picture turned a quarter clockwise (height x width)."""
    out = lm.copy()
    out[:, 0], out[:, 1] = height - 1 - lm[:, 1], lm[:, 0]
    return out


def test_upright_turns_stand_a_turned_person_up():
    lm, w, h = person(), W, H
    assert upright_turns(lm, w, h) == 0
    for clockwise in (1, 2, 3):  # a quarter clockwise: the head points right; np.rot90 k=1 undoes it
        lm, w, h = turned_clockwise(lm, w, h), h, w
        assert upright_turns(lm, w, h) == clockwise
        restored = np.rot90(np.zeros((h, w)), upright_turns(lm, w, h)).shape
        assert restored == (H, W)


def test_upright_turns_need_shoulders_and_hips_in_frame():
    lm = turned_clockwise(person(), W, H)
    assert upright_turns(lm, H, W) == 1
    lm[HIPS, 3] = 0.02  # hips out of frame: nothing to go by
    assert upright_turns(lm, H, W) == 0
