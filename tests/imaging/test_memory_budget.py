"""Decoders budget memory from the header before decoding: bombs are refused with a
reason, deep images never become float64 copies, archives of objects are never loaded.
(Peak memory itself is measured by benchmarks/decode_memory.py, not here.)"""

import zipfile

import numpy as np
import pytest
from PIL import Image

from core.cli import main
from core.imaging import ImageRejected, decode_raster
from core.imaging.decode import _rescale_to_uint8
from core.importers import NpzFormatError, import_npz


@pytest.fixture
def budget_mb(monkeypatch):
    def set_budget(mb):
        monkeypatch.setenv("SEVERITY_DECODE_BUDGET_MB", str(mb))

    return set_budget


def test_a_small_file_that_decodes_huge_is_refused_before_decoding(tmp_path, budget_mb):
    budget_mb(64)
    Image.new("RGB", (6000, 6000), color=(10, 20, 30)).save(tmp_path / "bomb.png")
    assert (tmp_path / "bomb.png").stat().st_size < 200_000  # compresses to almost nothing
    with pytest.raises(ImageRejected, match=r"6000 x 6000 pixels \(RGB\).*more than this app"):
        decode_raster(tmp_path / "bomb.png")


def test_sixteen_bit_images_count_twice_the_bytes(tmp_path, budget_mb):
    Image.fromarray(np.zeros((3000, 3000), np.uint16)).save(tmp_path / "deep.png")
    Image.new("L", (3000, 3000)).save(tmp_path / "grey.png")
    budget_mb(30)  # 3000 x 3000: 8.6 MB at 8 bits, 17 MB at 16 bits, twice each
    decode_raster(tmp_path / "grey.png")
    with pytest.raises(ImageRejected, match="16"):
        decode_raster(tmp_path / "deep.png")


def test_a_large_jpeg_is_decoded_reduced_instead_of_refused(tmp_path, budget_mb):
    Image.new("RGB", (8000, 6000), color=(200, 80, 40)).save(tmp_path / "big.jpg", quality=50)
    budget_mb(64)  # the full frame would need 8000 x 6000 x 4 x 2 bytes = 366 MB
    decoded = decode_raster(tmp_path / "big.jpg")
    assert max(decoded.pixels.shape) == 1024
    assert "downsampled from 8000 x 6000" in decoded.quality_flags


def test_rescaling_works_in_float32_blocks_and_keeps_order():
    deep = (np.arange(600 * 40, dtype=np.uint16).reshape(600, 40) * 2) + 7
    out = _rescale_to_uint8(deep)
    assert out.dtype == np.uint8 and out.min() == 0 and out.max() == 255
    assert np.all(np.diff(out.reshape(-1).astype(int)) >= 0)
    floats = np.array([[np.nan, 1.0, np.inf], [2.0, 3.0, -np.inf]], dtype=np.float32)
    assert _rescale_to_uint8(floats).tolist() == [[0, 0, 255], [128, 255, 0]]


def _object_npz(path):
    np.savez(path, train_images=np.array([object(), 1], dtype=object), train_labels=[[0], [1]])
    return path


def test_an_npz_of_objects_is_refused_from_its_header(store, tmp_path):
    with pytest.raises(NpzFormatError, match="Python objects"):
        import_npz(store, _object_npz(tmp_path / "objects.npz"))
    assert store.datasets.list() == []


def test_the_cli_refuses_an_object_npz_with_exit_2_and_one_line(tmp_path, capsys):
    code = main(["import", str(_object_npz(tmp_path / "o.npz")), "--db", str(tmp_path / "a.db")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "Python objects" in err[0]


def test_an_npz_larger_than_the_budget_is_refused_unread(store, tmp_path, budget_mb):
    budget_mb(1)
    np.savez_compressed(
        tmp_path / "big.npz",
        train_images=np.zeros((400, 64, 64), np.uint8),
        train_labels=np.zeros((400, 1), np.int64),
    )
    with zipfile.ZipFile(tmp_path / "big.npz") as archive:
        assert sum(i.compress_size for i in archive.infolist()) < 100_000
    with pytest.raises(NpzFormatError, match="more than this app loads"):
        import_npz(store, tmp_path / "big.npz")
