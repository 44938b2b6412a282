"""BlazePose (MediaPipe's pose detector + full landmark model) through LiteRT.

The detector finds people as SSD boxes with 4 keypoints (0 = hip centre, 1 = a point whose distance
from the hip centre gives the body's size and whose direction gives its rotation). Each person's
region of interest is rotated upright and cut to 256x256 for the landmark model, which returns 33
body landmarks with visibility (seen, not occluded) and presence (inside the frame) scores.

The SSD helpers here (anchors, decoding, weighted NMS, letterbox) are shared with face.py.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from .runtime import TFLiteModel

# BlazePose landmark indices (MediaPipe's order).
NOSE = 0
LEFT_EYE, RIGHT_EYE = 2, 5
LEFT_EAR, RIGHT_EAR = 7, 8
MOUTH_LEFT, MOUTH_RIGHT = 9, 10
LEFT_SHOULDER, RIGHT_SHOULDER = 11, 12
LEFT_ELBOW, RIGHT_ELBOW = 13, 14
LEFT_WRIST, RIGHT_WRIST = 15, 16
LEFT_HIP, RIGHT_HIP = 23, 24
LEFT_KNEE, RIGHT_KNEE = 25, 26
LEFT_ANKLE, RIGHT_ANKLE = 27, 28
LEFT_HEEL, RIGHT_HEEL = 29, 30
LEFT_FOOT, RIGHT_FOOT = 31, 32
NUM_LANDMARKS = 33
# Both sides' points, as index lists for the (33, k) landmark arrays.
SHOULDERS, HIPS, KNEES = [LEFT_SHOULDER, RIGHT_SHOULDER], [LEFT_HIP, RIGHT_HIP], [LEFT_KNEE, RIGHT_KNEE]
ANKLES = [LEFT_ANKLE, RIGHT_ANKLE]
MAX_REFINE = 3  # landmark re-runs on the model's own ROI when the detector's ROI is off
REFINE_TOLERANCE = 0.05  # ROI centre shift or size change, as a share of its side
DUPLICATE_IOU = 0.5  # landmark extents overlapping more than this are the same person
RETRY_PAD = 0.3  # edge padding, as a share of the longer side, for a second try on tight crops
# Zoomed windows for a last try on small people: a ZOOM_GRID x ZOOM_GRID grid of windows, each
# ZOOM_SHARE of the picture's width and height. Magnified, the detector also sees faces in
# prints and folds (product photos: half its hits there score 0.50-0.55, 90% below 0.67, against
# 0.88+ for 19 in 20 real people a third of the picture's height): a zoomed detection must score
# ZOOM_MIN_SCORE.
ZOOM_GRID, ZOOM_SHARE, ZOOM_MIN_SCORE = 2, 0.55, 0.75
# A last try for a picture framed around one standing person (at least FRAMED_MIN_ASPECT times
# taller than wide), as a person cropped out of a larger photo: the landmark model runs on the ROI
# such a person would have (head at the top edge, hips at FRAMED_HIP_HEIGHTS). On a product photo
# it claims a pose as readily (its flag is no test), so the skeleton is kept only when it stands
# the way a person filling the frame does: flag >= FRAMED_MIN_FLAG, shoulders, hips, knees and ankles seen
# (mean visibility >= FRAMED_MIN_VISIBILITY), spanning FRAMED_MIN_SPAN of the height, shoulders
# above hips above ankles. A garment hung up or laid flat still passes these bars; Classify asks
# the crops of a person found this way whether they show a person (GarmentModel.shows_person).
# Set on PETA and product train photos (docs/measurements.md, "People the detector misses").
FRAMED_MIN_ASPECT, FRAMED_MIN_FLAG, FRAMED_MIN_VISIBILITY, FRAMED_MIN_SPAN = 1.5, 0.5, 0.6, 0.6
FRAMED_HIP_HEIGHTS = (0.5, 0.55, 0.6)  # hip centre tried in turn at these shares of the height

# A landmark is IN FRAME when its presence (the landmark model's "inside the picture" score) is at
# least IN_FRAME and its point lies in the image (EDGE_TOLERANCE). On cropped photos presence drops
# below 0.1 for joints cut off, while visibility stays high for some of them.
IN_FRAME = 0.5
EDGE_TOLERANCE = 0.02  # a point this share of the picture's width / height past its edge is still in it

# Skeleton edges for drawing (MediaPipe's POSE_CONNECTIONS).
CONNECTIONS = (
    (0, 1), (1, 2), (2, 3), (3, 7), (0, 4), (4, 5), (5, 6), (6, 8), (9, 10),
    (11, 12), (11, 13), (13, 15), (15, 17), (15, 19), (15, 21), (17, 19),
    (12, 14), (14, 16), (16, 18), (16, 20), (16, 22), (18, 20),
    (11, 23), (12, 24), (23, 24), (23, 25), (24, 26), (25, 27), (26, 28),
    (27, 29), (28, 30), (29, 31), (30, 32), (27, 31), (28, 32),
)


# --- SSD helpers (shared with face.py) -------------------------------------------------------

def ssd_anchors(input_size: int, strides: list[int], min_scale: float = 0.1484375,
                max_scale: float = 0.75, offset: float = 0.5) -> np.ndarray:
    """Anchor centres (N, 2) in [0, 1], as MediaPipe's SsdAnchorsCalculator with fixed_anchor_size.

    Each layer has 2 anchors per cell (aspect ratio 1 and the interpolated scale); consecutive
    layers with the same stride share one grid, so their anchors add up per cell.
    """
    del min_scale, max_scale  # fixed-size anchors: only the centres matter for decoding
    centres = []
    layer = 0
    while layer < len(strides):
        per_cell = 0
        last = layer
        while last < len(strides) and strides[last] == strides[layer]:
            per_cell += 2
            last += 1
        grid = math.ceil(input_size / strides[layer])
        ys, xs = np.mgrid[0:grid, 0:grid]
        cell = np.stack([(xs + offset) / grid, (ys + offset) / grid], axis=-1).reshape(-1, 1, 2)
        centres.append(np.repeat(cell, per_cell, axis=1).reshape(-1, 2))
        layer = last
    return np.concatenate(centres).astype(np.float32)


@dataclass
class Detection:
    """An SSD detection in normalized [0, 1] coordinates of the model's (letterboxed) input."""

    box: np.ndarray        # (4,) x0, y0, x1, y1
    keypoints: np.ndarray  # (K, 2) x, y
    score: float


def sigmoid(logits: np.ndarray, clip: float) -> np.ndarray:
    """Logistic function on float64 logits clipped to +-clip (as MediaPipe does; no overflow)."""
    return 1.0 / (1.0 + np.exp(-np.clip(logits.astype(np.float64), -clip, clip)))


def decode_ssd(regressors: np.ndarray, logits: np.ndarray, anchors: np.ndarray, scale: float,
               num_keypoints: int, threshold: float) -> list[Detection]:
    """Raw SSD outputs -> detections above the threshold (before NMS).

    regressors (N, 4 + 2K): box centre offset and size, then keypoints, all in input pixels
    (`scale`) relative to the anchor centre; logits (N,) -> sigmoid score (clipped at +-100).
    """
    scores = sigmoid(logits.reshape(-1), clip=100.0)
    keep = np.nonzero(scores >= threshold)[0]
    dets = []
    for i in keep:
        r = regressors[i] / scale
        ax, ay = anchors[i]
        cx, cy, w, h = r[0] + ax, r[1] + ay, r[2], r[3]
        kps = r[4:4 + 2 * num_keypoints].reshape(num_keypoints, 2) + anchors[i]
        dets.append(Detection(np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]),
                              kps, float(scores[i])))
    return dets


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def weighted_nms(dets: list[Detection], iou_threshold: float = 0.3) -> list[Detection]:
    """MediaPipe's WEIGHTED non-max suppression: overlapping detections are averaged by score."""
    remaining = sorted(dets, key=lambda d: d.score, reverse=True)
    out = []
    while remaining:
        best = remaining[0]
        group = [d for d in remaining if _iou(best.box, d.box) > iou_threshold]
        remaining = [d for d in remaining if _iou(best.box, d.box) <= iou_threshold]
        w = np.array([d.score for d in group])[:, None]
        box = (np.stack([d.box for d in group]) * w).sum(0) / w.sum()
        kps = (np.stack([d.keypoints for d in group]) * w[:, :, None]).sum(0) / w.sum()
        out.append(Detection(box, kps, best.score))
    return out


def letterbox(rgb: np.ndarray, size: int) -> tuple[np.ndarray, float, float, float]:
    """Fit the image into size x size keeping its aspect (black borders, centred).

    Returns (uint8 square, scale, pad_x, pad_y): image pixel = (square pixel - pad) / scale.
    """
    h, w = rgb.shape[:2]
    scale = size / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(rgb, (nw, nh), interpolation=interp)
    pad_x, pad_y = (size - nw) // 2, (size - nh) // 2
    square = cv2.copyMakeBorder(resized, pad_y, size - nh - pad_y, pad_x, size - nw - pad_x,
                                cv2.BORDER_CONSTANT, value=(0, 0, 0))
    return square, nw / w, pad_x, pad_y


def unletterbox(points: np.ndarray, size: int, scale: float, pad_x: float, pad_y: float) -> np.ndarray:
    """Normalized coordinates in the letterboxed square -> image pixels."""
    pts = np.asarray(points, dtype=np.float64) * size
    pts[..., 0] = (pts[..., 0] - pad_x) / scale
    pts[..., 1] = (pts[..., 1] - pad_y) / scale
    return pts


# --- Pose ---------------------------------------------------------------------------------------

@dataclass
class Person:
    """One person: 33 landmarks in image pixels and the detector's view of them."""

    landmarks: np.ndarray  # (33, 5): x, y (pixels), z (ROI pixels), visibility, presence in [0, 1]
    score: float           # detector score
    pose_flag: float       # landmark model's confidence that a person fills the ROI
    roi_center: tuple[float, float]
    roi_size: float
    roi_rotation: float    # radians
    aux: np.ndarray        # (2, 2) the landmark model's own hip centre and full-body point


class PoseEstimator:
    """Loads BlazePose once; `detect(rgb)` returns every person found, best detector score first."""

    DETECTOR_SIZE = 224
    LANDMARK_SIZE = 256
    DETECTOR_STRIDES = [8, 16, 32, 32, 32]

    def __init__(self, score_threshold: float = 0.5, flag_threshold: float = 0.5,
                 max_people: int = 3, num_threads: int = 1,
                 landmark_model: str = "third_party/pose_landmark_full.tflite"):
        self.detector = TFLiteModel("third_party/pose_detection.tflite", num_threads=num_threads)
        # BlazePose lite / full / heavy landmark models share inputs and outputs.
        self.landmarker = TFLiteModel(landmark_model, num_threads=num_threads)
        self.anchors = ssd_anchors(self.DETECTOR_SIZE, self.DETECTOR_STRIDES)
        if len(self.anchors) != self.detector.outputs[0]["shape"][1]:
            raise RuntimeError(f"pose detector has {self.detector.outputs[0]['shape'][1]} anchors, "
                               f"expected {len(self.anchors)}")
        self.score_threshold = score_threshold
        self.flag_threshold = flag_threshold
        self.max_people = max_people  # cap on landmark runs, for speed

    def detect(self, rgb: np.ndarray) -> list[Person]:
        """People in an (H, W, 3) uint8 RGB image whose landmark run confirms a pose.

        When nobody is found, the picture is tried once more with its edges stretched outwards
        (RETRY_PAD of its longer side on every side): the detector misses most people in tight
        crops that cut close to the head and feet (PETA pedestrians: 56% found as they are, 92%
        padded, on 200 of them). If still nobody, the detector looks again through zoomed
        windows (`detect_zoomed`): it misses most people under about a third of the picture's
        height. Last, a picture framed around one standing person is read as that person
        (`detect_framed`): the detector keys on the face and misses small people seen from behind.
        Landmarks come back in the original picture's pixels. A skeleton with no landmark in
        frame (`in_frame`) is no person and does not stop the next try: a weak detection at the
        edge of a tight crop can give one (PETA train: 11 of 1,963 pedestrians were lost so).
        """
        height, width = rgb.shape[:2]
        pad = int(round(RETRY_PAD * max(height, width)))
        tries = (self._detect, lambda picture: self.detect_padded(picture, pad), self.detect_zoomed, self.detect_framed)
        for attempt in tries:
            people = [p for p in attempt(rgb) if in_frame(p.landmarks, width, height).any()]
            if people:
                return people
        return []

    def detect_framed(self, rgb: np.ndarray) -> list[Person]:
        """The person a tall picture is framed around, found without the detector (see
        FRAMED_MIN_ASPECT); [] when the picture is not tall or the skeleton does not stand as a
        person filling the frame does. Its detector score is 0."""
        height, width = rgb.shape[:2]
        if height < FRAMED_MIN_ASPECT * width:
            return []
        top = np.array([width / 2, 0.0])
        for hip_height in FRAMED_HIP_HEIGHTS:
            person = self._settled(rgb, np.array([width / 2, hip_height * height]), top, 0.0)
            if _stands_in_frame(person, height):
                return [person]
        return []

    def detect_padded(self, rgb: np.ndarray, pad: int) -> list[Person]:
        """Detect in the picture with `pad` replicated edge pixels on every side."""
        padded = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        people = self._detect(padded)
        for p in people:
            p.landmarks[:, :2] -= pad
            p.aux = p.aux - pad
            p.roi_center = (p.roi_center[0] - pad, p.roi_center[1] - pad)
        return people

    def detect_zoomed(self, rgb: np.ndarray) -> list[Person]:
        """Detect in a grid of ZOOM_GRID x ZOOM_GRID overlapping windows (ZOOM_SHARE of the
        picture's width and height each), then run the landmark model on the whole picture.

        BlazePose's detector keys on the head and sees the whole picture at 224 px: a person a
        third of a 4:3 picture's height has a head of ~7 px there; a window magnifies it.
        """
        height, width = rgb.shape[:2]
        win_h, win_w = max(1, round(ZOOM_SHARE * height)), max(1, round(ZOOM_SHARE * width))
        dets = []
        for y0 in np.linspace(0, height - win_h, ZOOM_GRID).round().astype(int):
            for x0 in np.linspace(0, width - win_w, ZOOM_GRID).round().astype(int):
                for det in self.detect_bodies(rgb[y0:y0 + win_h, x0:x0 + win_w]):
                    if det.score < ZOOM_MIN_SCORE:
                        continue
                    det.box = det.box + [x0, y0, x0, y0]
                    det.keypoints = det.keypoints + [x0, y0]
                    dets.append(det)
        return self._people(rgb, weighted_nms(dets))  # best score first

    def _detect(self, rgb: np.ndarray) -> list[Person]:
        return self._people(rgb, self.detect_bodies(rgb))

    def _people(self, rgb: np.ndarray, dets: list[Detection]) -> list[Person]:
        """Landmarks for the detections (best score first) that the landmark model confirms."""
        people: list[Person] = []

        def seen_before(person: Person) -> bool:
            # A second detection whose ROI holds an already found body (its keypoints pointing
            # into a neighbour) gives that body's landmarks again: keep each person once.
            extent = _extent(person.landmarks)
            return any(_iou(extent, _extent(p.landmarks)) >= DUPLICATE_IOU for p in people)

        for det in dets[: self.max_people]:
            person = self._settled(rgb, det.keypoints[0], det.keypoints[1], det.score, seen_before)
            if person.pose_flag >= self.flag_threshold and not seen_before(person):
                people.append(person)
        return people

    def _settled(self, rgb: np.ndarray, hip: np.ndarray, top: np.ndarray, score: float,
                 seen_before: Callable[[Person], bool] = lambda person: False) -> Person:
        """The landmarks on the ROI given by `hip` and `top`, re-run on the ROI they propose until
        it settles (or `seen_before` says the body is one already found).

        The detector's hip/size keypoints can be off (a long skirt hides the hips): the ROI then
        cuts the legs off, and the landmark model squeezes the whole body into it while still
        claiming a pose (its flag stays high). Its two auxiliary points propose the ROI it would
        like (MediaPipe tracks video frames with them): when that differs from the one used,
        re-run on it (ccp 1652: 3 runs; a typical photo: none, the ROIs agree within 2%)."""
        person = self.landmarks(rgb, hip, top, score)
        for _ in range(MAX_REFINE):
            if seen_before(person) or (person.pose_flag >= self.flag_threshold
                                       and _roi_change(person) < REFINE_TOLERANCE):
                break
            person = self.landmarks(rgb, person.aux[0], person.aux[1], score)
        return person

    def detect_bodies(self, rgb: np.ndarray) -> list[Detection]:
        """Detector only: boxes and keypoints in image pixels, best score first."""
        size = self.DETECTOR_SIZE
        square, scale, pad_x, pad_y = letterbox(rgb, size)
        x = square.astype(np.float32)[None] / 127.5 - 1.0
        regressors, logits = self.detector(x)
        dets = weighted_nms(decode_ssd(regressors[0], logits[0], self.anchors, size, 4,
                                       self.score_threshold))
        for d in dets:
            d.box = unletterbox(d.box.reshape(2, 2), size, scale, pad_x, pad_y).reshape(4)
            d.keypoints = unletterbox(d.keypoints, size, scale, pad_x, pad_y)
        return sorted(dets, key=lambda d: d.score, reverse=True)

    def landmarks(self, rgb: np.ndarray, hip: np.ndarray, top: np.ndarray, score: float) -> Person:
        """Run the landmark model on the upright square ROI given by a hip centre and the
        full-body point above it (the detector's keypoints 0 and 1, or the landmark model's
        auxiliary points from an earlier run)."""
        # Rotate so that hip -> top points straight up (MediaPipe: target angle 90 degrees).
        angle = math.pi / 2 - math.atan2(-(top[1] - hip[1]), top[0] - hip[0])
        angle = (angle + math.pi) % (2 * math.pi) - math.pi
        side = _roi_side(hip, top)
        n = self.LANDMARK_SIZE
        matrix = roi_matrix(hip, side, angle, n)  # image -> ROI pixels
        crop = cv2.warpAffine(rgb, matrix, (n, n), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)
        out = self.landmarker(crop.astype(np.float32)[None] / 255.0)
        raw, flag = out[0].reshape(-1, 5), float(out[1].reshape(-1)[0])
        inverse = cv2.invertAffineTransform(matrix)
        xy = raw[:, :2] @ inverse[:, :2].T + inverse[:, 2]
        visibility_presence = sigmoid(raw[:NUM_LANDMARKS, 3:5], clip=60.0)
        lm = np.concatenate([xy[:NUM_LANDMARKS], raw[:NUM_LANDMARKS, 2:3] * side / n, visibility_presence], axis=1)
        aux = xy[NUM_LANDMARKS:NUM_LANDMARKS + 2]  # hip centre and full-body point for a new ROI
        return Person(lm, score, flag, (float(hip[0]), float(hip[1])), side, angle, aux)


def in_frame(landmarks: np.ndarray, width: int, height: int) -> np.ndarray:
    """Boolean mask of the landmarks IN FRAME. landmarks: (33, >=5) as from Person (x, y, z,
    visibility, presence) or (33, 4) (x, y, visibility, presence)."""
    presence = np.asarray(landmarks, dtype=np.float64)[:, -1]
    return (presence >= IN_FRAME) & in_picture(landmarks, width, height)


def in_view(landmarks: np.ndarray, width: int, height: int) -> np.ndarray:
    """Boolean mask of the landmarks IN VIEW: in frame, or a body point beside the picture (present,
    level with it, off its left or right edge) whose partner on the other side of the body is in
    frame. A shoulder cut off at the side of a photo framed tight is placed there with its presence
    high (0.55-1.0 on ccp val photos cut so), while a part cut off at the top or bottom gets a low
    presence, or lies above or below the picture. Both sides beside the picture is a picture
    narrower than the body: a close-up of the face, whose "shoulders" box no upper body."""
    presence = np.asarray(landmarks, dtype=np.float64)[:, -1]
    framed = in_frame(landmarks, width, height)
    beside = (presence >= IN_FRAME) & within_height(landmarks, height)
    beside[:LEFT_SHOULDER] = False
    beside[LEFT_SHOULDER:] &= framed[LEFT_SHOULDER:].reshape(-1, 2)[:, ::-1].reshape(-1)  # the partner
    return framed | beside


def in_picture(landmarks: np.ndarray, width: int, height: int) -> np.ndarray:
    """Boolean mask of the landmarks whose point lies in the picture (EDGE_TOLERANCE), whatever
    their presence score."""
    x = np.asarray(landmarks, dtype=np.float64)[:, 0]
    return (x >= -EDGE_TOLERANCE * width) & (x <= (1 + EDGE_TOLERANCE) * width) & within_height(landmarks, height)


def within_height(landmarks: np.ndarray, height: int) -> np.ndarray:
    """Boolean mask of the landmarks level with the picture: neither above nor below it
    (EDGE_TOLERANCE), wherever they lie across."""
    y = np.asarray(landmarks, dtype=np.float64)[:, 1]
    return (y >= -EDGE_TOLERANCE * height) & (y <= (1 + EDGE_TOLERANCE) * height)


def _stands_in_frame(person: Person, height: int) -> bool:
    """Whether a skeleton stands as a person filling a picture of this height does (FRAMED_*)."""
    lm = person.landmarks
    seen = lm[SHOULDERS + HIPS + KNEES + ANKLES, 3].mean()  # column 3: visibility
    return (person.pose_flag >= FRAMED_MIN_FLAG and seen >= FRAMED_MIN_VISIBILITY
            and np.ptp(lm[:, 1]) >= FRAMED_MIN_SPAN * height
            and lm[SHOULDERS, 1].mean() < lm[HIPS, 1].mean() < lm[ANKLES, 1].mean())


def _roi_change(person: Person) -> float:
    """How far the landmark model's proposed ROI is from the one it ran on (share of the side)."""
    hip, top = person.aux
    shift = float(np.hypot(hip[0] - person.roi_center[0], hip[1] - person.roi_center[1]))
    return max(shift, abs(_roi_side(hip, top) - person.roi_size)) / person.roi_size


def _roi_side(hip: np.ndarray, top: np.ndarray) -> float:
    """MediaPipe's ROI for the landmark model: twice the hip-to-top distance, enlarged by 1.25."""
    return max(2.0 * float(np.hypot(*(top - hip))) * 1.25, 1.0)


def _extent(landmarks: np.ndarray) -> np.ndarray:
    """x0, y0, x1, y1 of the landmarks that are likely in the picture (all, if none are)."""
    pts = landmarks[landmarks[:, 4] >= 0.5, :2]
    if len(pts) == 0:
        pts = landmarks[:, :2]
    return np.concatenate([pts.min(0), pts.max(0)])


def roi_matrix(center: np.ndarray, side: float, angle: float, out_size: int) -> np.ndarray:
    """Affine matrix taking image pixels into an out_size square ROI of `side` pixels rotated by
    `angle` (radians, counter-clockwise as MediaPipe's rect rotation) around `center`."""
    c, s = math.cos(angle), math.sin(angle)
    half = side / 2
    # Corners of the rotated rect in the image: top-left, top-right, bottom-left.
    def corner(dx: float, dy: float) -> tuple[float, float]:
        return center[0] + dx * c - dy * s, center[1] + dx * s + dy * c
    src = np.float32([corner(-half, -half), corner(half, -half), corner(-half, half)])
    dst = np.float32([[0, 0], [out_size, 0], [0, out_size]])
    return cv2.getAffineTransform(src, dst)
