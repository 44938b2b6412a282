"""Decode an uploaded photo to an upright RGB array, refusing what is not a sane image; encode JPEGs.

Size limits are checked from the header, before any pixel is decoded, so a decompression bomb
(a tiny file that claims 30000x30000 pixels) fails fast without allocating memory.
"""
from __future__ import annotations

import io
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PIXELS = 40_000_000  # 40 megapixels: far above any phone photo, far below a memory problem
MAX_SIDE = 20_000
# Photos are read at most this big (longer side): the models see 256 px (pose) and 192 px
# (garments) crops, so a 12-megapixel phone photo decoded in full only costs time (~300 ms a
# photo against ~110 ms; scripts/benchmark.py --long-side 4032). 1000, not 1024: a 4000 or
# 4032 px JPEG then decodes at 1/4 scale directly (1000 / 1008 px), without a large resize.
WORK_SIDE = 1000


class BadImage(ValueError):
    """The bytes are not a photo we can read; the message says what is wrong."""


def decode_image(data: bytes, max_side: int | None = WORK_SIDE) -> np.ndarray:
    """Bytes of a JPEG/PNG/WebP/... -> (H, W, 3) uint8 RGB, upright per its EXIF orientation.

    Any mode is accepted: grayscale, CMYK, 16-bit, palette; transparency is composited on white.
    max_side: shrink so that the longer side is at most this (a JPEG is then decoded at a reduced
    scale directly, several times faster for a phone photo); None keeps the full resolution.
    Raises BadImage for empty, unrecognised, truncated or oversized input.
    """
    if not data:
        raise BadImage("empty file: no bytes to decode")
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb check warns (or raises) on open; ours below is stricter and clearer.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as err:
        raise BadImage(f"image too large: {err}") from err
    except UnidentifiedImageError as err:
        raise BadImage(f"not an image: unrecognised format ({len(data)} bytes)") from err
    except (OSError, SyntaxError, ValueError) as err:  # a header cut short: "Truncated File Read"
        raise BadImage(f"image header is truncated or corrupt: {err}") from err
    width, height = img.size  # from the header only; nothing decoded yet
    if width < 1 or height < 1:
        raise BadImage(f"image has no pixels ({width}x{height})")
    if width * height > MAX_PIXELS or max(width, height) > MAX_SIDE:
        raise BadImage(
            f"image too large: {width}x{height} = {width * height / 1e6:.0f} megapixels "
            f"(limit {MAX_PIXELS / 1e6:.0f} MP, {MAX_SIDE} px a side)"
        )
    if max_side is not None and img.format == "JPEG":
        # DCT scaling (1/2, 1/4, 1/8) to the smallest size whose longer side is still >= max_side;
        # draft() wants both sides, so ask for the aspect-kept size (a square would keep the
        # shorter side >= max_side too and decode twice as many pixels).
        scale = max_side / max(width, height)
        img.draft(img.mode, (max(1, int(width * scale)), max(1, int(height * scale))))
    try:
        img.load()
    except (OSError, SyntaxError, ValueError) as err:  # Pillow reports truncation as OSError
        raise BadImage(f"{img.format or 'image'} file is truncated or corrupt: {err}") from err
    try:
        img = ImageOps.exif_transpose(img)
    except Exception:  # noqa: BLE001 - a broken EXIF block must not lose an otherwise good photo
        pass
    rgb = _to_rgb(img)
    if max_side is not None and max(rgb.shape[:2]) > max_side:
        scale = max_side / max(rgb.shape[:2])
        size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    return rgb


def load_image(path: str | Path, max_side: int | None = WORK_SIDE) -> np.ndarray:
    """Read a file and decode it (see decode_image)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise BadImage(f"cannot read {path}: {err.strerror or err}") from err
    try:
        return decode_image(data, max_side)
    except BadImage as err:
        raise BadImage(f"{path.name}: {err}") from err


# A dark photo is brightened before its garments and face are read: the models learnt from
# daylight street photos, whose brightest 1% of pixels sit at 218-255 (ccp val: all of them), and
# read a photo at half its brightness worse (ccp val upper -3.5, whole -3.6 points;
# docs/measurements.md, robustness). Below DARK_P99 the picture gets the gain (at most MAX_GAIN)
# that lifts its brightest 1% to TARGET_P99; a photo above it is left as it is.
DARK_P99, TARGET_P99, MAX_GAIN = 160, 240, 4.0


def brightened(rgb: np.ndarray) -> np.ndarray:
    """`rgb` itself, or for a dark photo (see DARK_P99) a brightened copy."""
    luminance = cv2.cvtColor(np.ascontiguousarray(rgb[::4, ::4]), cv2.COLOR_RGB2GRAY)  # a sample is enough
    p99 = float(np.percentile(luminance, 99))
    if p99 >= DARK_P99:
        return rgb
    return cv2.convertScaleAbs(rgb, alpha=min(TARGET_P99 / max(p99, 1.0), MAX_GAIN))


def encode_jpeg(rgb: np.ndarray, quality: int = 85) -> bytes:
    """(H, W, 3) uint8 RGB -> JPEG bytes (annotated pictures, inventory photos)."""
    out = io.BytesIO()
    Image.fromarray(np.asarray(rgb, dtype=np.uint8)).save(out, format="JPEG", quality=quality)
    return out.getvalue()


def _to_rgb(img: Image.Image) -> np.ndarray:
    mode = img.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        # High bit depth: scale to 8 bits instead of clipping (Pillow's convert would clip).
        arr = np.asarray(img, dtype=np.float32)
        peak = 65535.0 if mode.startswith("I") and arr.max() > 255 else 255.0
        gray = np.clip(np.rint(arr * (255.0 / peak)), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))
    if mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba)
    if img.mode != "RGB":
        img = img.convert("RGB")
    return np.ascontiguousarray(np.asarray(img, dtype=np.uint8))
