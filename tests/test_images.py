"""decode_image: EXIF orientation, every colour mode, and bad input refused fast and clearly."""
import io
import struct
import time
import tracemalloc
import zlib

import numpy as np
import pytest
from PIL import Image

from lookmatch.images import WORK_SIDE, BadImage, decode_image, load_image


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims width x height (8-bit gray) with one tiny IDAT: a decompression bomb's header."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


def test_exif_orientation_is_applied():
    # Stored 60 wide x 30 high, left half red; orientation 6 = "rotate 90 degrees clockwise to show".
    arr = np.zeros((30, 60, 3), np.uint8)
    arr[:, :30] = (255, 0, 0)
    exif = Image.Exif()
    exif[0x0112] = 6
    rgb = decode_image(encode(Image.fromarray(arr), "JPEG", exif=exif.tobytes(), quality=95))
    assert rgb.shape == (60, 30, 3)
    # Turned clockwise, the stored left half is now the top half.
    assert rgb[:25, :, 0].mean() > 200 and rgb[:25, :, 1].mean() < 50
    assert rgb[35:, :, 0].mean() < 50


def test_rgb_jpeg_plain():
    arr = np.full((20, 30, 3), (10, 200, 30), np.uint8)
    rgb = decode_image(encode(Image.fromarray(arr), "JPEG", quality=95))
    assert rgb.shape == (20, 30, 3) and rgb.dtype == np.uint8
    assert np.abs(rgb.astype(int) - (10, 200, 30)).max() < 8


def test_grayscale_jpeg_becomes_three_equal_channels():
    gray = Image.fromarray(np.full((16, 24), 90, np.uint8))
    rgb = decode_image(encode(gray, "JPEG"))
    assert rgb.shape == (16, 24, 3)
    assert (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()
    assert abs(int(rgb[8, 12, 0]) - 90) <= 2


def test_cmyk_jpeg_gives_the_right_colour():
    red = Image.new("CMYK", (16, 16), (0, 255, 255, 0))
    rgb = decode_image(encode(red, "JPEG", quality=95))
    assert rgb.shape == (16, 16, 3)
    r, g, b = rgb[8, 8].astype(int)
    assert r > 220 and g < 40 and b < 40


def test_png_alpha_is_composited_on_white():
    arr = np.zeros((10, 10, 4), np.uint8)
    arr[:, :5] = (0, 0, 255, 255)     # opaque blue
    arr[:, 5:] = (0, 0, 0, 0)         # fully transparent black
    rgb = decode_image(encode(Image.fromarray(arr), "PNG"))
    assert rgb.shape == (10, 10, 3)
    assert tuple(rgb[5, 2]) == (0, 0, 255)
    assert tuple(rgb[5, 8]) == (255, 255, 255)


def test_palette_png_with_transparency():
    img = Image.new("P", (8, 8), 0)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    img.paste(1, (0, 0, 4, 8))
    rgb = decode_image(encode(img, "PNG", transparency=0))
    assert tuple(rgb[4, 1]) == (255, 0, 0)
    assert tuple(rgb[4, 6]) == (255, 255, 255)


def test_sixteen_bit_png_is_scaled_not_clipped():
    arr = np.array([[0, 32768, 65535]], dtype=np.uint16)
    rgb = decode_image(encode(Image.fromarray(arr), "PNG"))
    assert rgb.shape == (1, 3, 3)
    assert list(rgb[0, :, 0]) == [0, 128, 255]


def test_one_pixel_image_decodes():
    rgb = decode_image(encode(Image.new("RGB", (1, 1), (5, 6, 7)), "PNG"))
    assert rgb.shape == (1, 1, 3) and tuple(rgb[0, 0]) == (5, 6, 7)


def test_empty_bytes():
    with pytest.raises(BadImage, match="empty"):
        decode_image(b"")


def test_not_an_image():
    with pytest.raises(BadImage, match="not an image"):
        decode_image(b"%PDF-1.4 this is a document, not a photo" * 10)


def test_truncated_jpeg():
    arr = np.random.default_rng(0).integers(0, 255, (200, 200, 3), dtype=np.uint8)
    data = encode(Image.fromarray(arr), "JPEG", quality=90)
    with pytest.raises(BadImage, match="truncated"):
        decode_image(data[: len(data) // 2])


@pytest.mark.parametrize("cut", [10, 100, 300])
def test_jpeg_cut_inside_its_header(cut):
    """Pillow raises a bare OSError while still reading the header: it must become BadImage."""
    data = encode(Image.fromarray(np.zeros((64, 64, 3), np.uint8)), "JPEG", quality=90)
    with pytest.raises(BadImage, match="truncated"):
        decode_image(data[:cut])


@pytest.mark.parametrize("width,height", [(30000, 30000), (8000, 6000), (25000, 100)])
def test_huge_image_refused_from_header_without_decoding(width, height):
    data = png_header_only(width, height)
    assert len(data) < 200
    tracemalloc.start()
    start = time.perf_counter()
    with pytest.raises(BadImage, match="too large"):
        decode_image(data)
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert elapsed < 0.5
    assert peak < 5_000_000  # a decoded 8000x6000 gray image alone would be 48 MB


def test_load_image_names_the_file(tmp_path):
    bad = tmp_path / "upload.jpg"
    bad.write_bytes(b"nope")
    with pytest.raises(BadImage, match="upload.jpg: not an image"):
        load_image(bad)
    with pytest.raises(BadImage, match="cannot read"):
        load_image(tmp_path / "missing.jpg")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_max_side_shrinks_keeping_aspect_and_orientation(fmt):
    # 1600 x 1000 stored, top-left quarter red, EXIF orientation 6 (shown as 1000 wide x 1600 high)
    arr = np.zeros((1000, 1600, 3), np.uint8)
    arr[:500, :800] = (255, 0, 0)
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(Image.fromarray(arr), fmt, exif=exif.tobytes())
    rgb = decode_image(data, max_side=400)
    assert rgb.shape == (400, 250, 3)
    # turned clockwise, the stored top-left quarter is now the top-right quarter
    assert rgb[20:180, 140:240, 0].mean() > 200 and rgb[20:180, 10:110, 0].mean() < 30
    assert decode_image(data, max_side=4000).shape == (1600, 1000, 3)  # never enlarged


def test_a_phone_photo_is_read_at_the_working_size():
    # 4000 x 3000, like a 12-megapixel phone photo: decoded at 1/4 scale, longer side WORK_SIDE
    arr = np.zeros((3000, 4000, 3), np.uint8)
    arr[:, :2000] = (0, 0, 255)
    data = encode(Image.fromarray(arr), "JPEG", quality=90)
    rgb = decode_image(data)
    assert rgb.shape == (750, WORK_SIDE, 3) == (750, 1000, 3)
    assert rgb[:, :480, 2].mean() > 240 and rgb[:, 520:, 2].mean() < 15  # left half still blue
    assert decode_image(data, max_side=None).shape == (3000, 4000, 3)


def test_a_small_photo_is_read_as_it_is():
    arr = np.full((512, 341, 3), 128, np.uint8)
    assert decode_image(encode(Image.fromarray(arr), "JPEG")).shape == (512, 341, 3)


def test_a_dark_picture_is_brightened_and_a_daylight_one_left_alone():
    from lookmatch.images import MAX_GAIN, TARGET_P99, brightened

    rng = np.random.default_rng(0)
    daylight = rng.integers(0, 256, (200, 120, 3), dtype=np.uint8)
    assert brightened(daylight) is daylight
    dark = (daylight * 0.4).astype(np.uint8)  # brightest 1% at ~100
    lifted = brightened(dark)
    assert abs(np.percentile(lifted.mean(axis=2), 99) - TARGET_P99) < 15
    assert (lifted >= dark).all() and lifted.dtype == np.uint8 and lifted.shape == dark.shape
    night = np.full((50, 50, 3), 10, np.uint8)
    assert brightened(night).max() == 10 * MAX_GAIN  # the gain is capped: noise is not blown up
    black = np.zeros((50, 50, 3), np.uint8)
    assert not brightened(black).any()
