import numpy as np
import pytest
from PIL import Image

from core.imaging import ImageRejected, content_hash, decode_raster, save_pixels


def test_png_decodes_to_uint8_rgb(tmp_path, make_png):
    decoded = decode_raster(make_png(tmp_path / "a.png", size=(30, 20)))
    assert decoded.pixels.shape == (20, 30, 3)
    assert decoded.pixels.dtype == np.uint8


def test_sixteen_bit_png_is_rescaled_to_the_full_8_bit_range(tmp_path):
    ramp = np.arange(64, dtype=np.uint16).reshape(8, 8) * 500 + 1000
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    pixels = decode_raster(tmp_path / "deep.png").pixels
    assert pixels.min() == 0 and pixels.max() == 255
    assert np.all(np.diff(pixels.reshape(-1).astype(int)) >= 0)  # order preserved


def test_zero_byte_file_is_rejected(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageRejected, match="empty"):
        decode_raster(tmp_path / "empty.png")


def test_text_file_named_png_is_rejected(tmp_path):
    (tmp_path / "notes.png").write_text("patient seen on Tuesday")
    with pytest.raises(ImageRejected, match="not a readable image"):
        decode_raster(tmp_path / "notes.png")


def test_truncated_png_is_rejected(tmp_path, make_png):
    data = make_png(tmp_path / "full.png", size=(64, 64)).read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageRejected, match="damaged or incomplete"):
        decode_raster(tmp_path / "cut.png")


def test_corrupt_png_body_is_rejected(tmp_path, make_png):
    data = bytearray(make_png(tmp_path / "full.png", size=(64, 64)).read_bytes())
    data[60:400] = bytes(340)  # zero out the compressed stream, keep the header
    (tmp_path / "corrupt.png").write_bytes(bytes(data))
    with pytest.raises(ImageRejected):
        decode_raster(tmp_path / "corrupt.png")


def test_huge_image_is_downsampled_without_exhausting_memory(tmp_path):
    Image.new("L", (10_000, 10_000), color=90).save(tmp_path / "huge.png")
    decoded = decode_raster(tmp_path / "huge.png")
    assert max(decoded.pixels.shape) == 1024
    assert decoded.pixels.dtype == np.uint8  # never widened to a float copy of the full frame
    assert "downsampled from 10000 x 10000" in decoded.quality_flags


def test_content_hash_depends_on_pixels_and_shape():
    a = np.zeros((4, 6), np.uint8)
    assert content_hash(a) == content_hash(a.copy())
    assert content_hash(a) != content_hash(a.reshape(6, 4))
    b = a.copy()
    b[0, 0] = 1
    assert content_hash(a) != content_hash(b)


def test_saved_pixels_round_trip_and_leave_no_temporary_files(tmp_path):
    pixels = np.arange(48, dtype=np.uint8).reshape(4, 4, 3)
    relative, digest = save_pixels(tmp_path, pixels)
    assert relative == f"{digest[:2]}/{digest}.png"
    assert np.array_equal(np.asarray(Image.open(tmp_path / relative)), pixels)
    assert not list(tmp_path.rglob("*.part"))
