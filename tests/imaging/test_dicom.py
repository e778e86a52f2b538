import numpy as np
import pydicom.data
import pytest

from core.imaging import ImageRejected
from core.imaging.dicom import decode_dicom
from tests.dicom_factory import PATIENT_ID, PATIENT_NAME, write_dicom

RAMP = np.arange(16 * 16, dtype=np.uint16).reshape(16, 16) * 10


def test_monochrome2_is_min_max_scaled(tmp_path):
    pixels = decode_dicom(write_dicom(tmp_path / "a.dcm", RAMP)).image.pixels
    assert pixels[0, 0] == 0 and pixels[-1, -1] == 255


def test_monochrome1_is_inverted(tmp_path):
    normal = decode_dicom(write_dicom(tmp_path / "m2.dcm", RAMP)).image.pixels
    inverted = decode_dicom(write_dicom(tmp_path / "m1.dcm", RAMP, "MONOCHROME1")).image.pixels
    assert np.array_equal(inverted, 255 - normal)


def test_window_from_the_file_is_applied(tmp_path):
    decoded = decode_dicom(write_dicom(tmp_path / "w.dcm", RAMP, window=(1000, 400)))
    pixels = decoded.image.pixels.astype(int).reshape(-1)
    raw = RAMP.reshape(-1)
    assert np.all(pixels[raw <= 800] == 0)
    assert np.all(pixels[raw >= 1200] == 255)
    inside = (raw > 820) & (raw < 1180)
    assert np.all((pixels[inside] > 0) & (pixels[inside] < 255))


def test_multi_frame_keeps_the_middle_frame_and_says_so(tmp_path):
    frames = np.stack([np.full((8, 8), value, np.uint16) for value in (0, 0, 0, 0, 0)])
    frames[2, :4] = 4000  # only the middle frame has structure
    decoded = decode_dicom(write_dicom(tmp_path / "mf.dcm", frames, frames=5))
    assert decoded.image.pixels[:4].min() == 255 and decoded.image.pixels[4:].max() == 0
    assert decoded.image.quality_flags[0] == "multi-frame: frame 3 of 5 (the middle one) is shown"


def test_identifying_headers_are_not_in_what_is_returned_for_storage(tmp_path):
    decoded = decode_dicom(write_dicom(tmp_path / "id.dcm", RAMP))
    stored_text = repr(decoded.image.metadata) + repr(decoded.image.quality_flags)
    for value in (PATIENT_NAME, "Testpatient", PATIENT_ID, "19470203", "Elsewhere"):
        assert value not in stored_text
    assert decoded.patient_source_id == PATIENT_ID  # handed over only to be hashed
    assert decoded.laterality == "R"


def test_dicom_without_pixel_data_is_rejected(tmp_path):
    with pytest.raises(ImageRejected, match="no image"):
        decode_dicom(write_dicom(tmp_path / "sr.dcm", RAMP, with_pixels=False))


def test_truncated_dicom_is_rejected(tmp_path):
    data = write_dicom(tmp_path / "full.dcm", RAMP).read_bytes()
    (tmp_path / "cut.dcm").write_bytes(data[:-300])
    with pytest.raises(ImageRejected, match="incomplete or damaged"):
        decode_dicom(tmp_path / "cut.dcm")


def test_undecodable_compressed_dicom_names_its_compression():
    path = pydicom.data.get_testdata_file("MR_small_jpeg_ls_lossless.dcm")
    with pytest.raises(ImageRejected, match="JPEG-LS Lossless.*cannot decode"):
        decode_dicom(__import__("pathlib").Path(path))


def test_non_dicom_bytes_are_rejected(tmp_path):
    (tmp_path / "x.dcm").write_bytes(b"\x89PNG not really" * 20)
    with pytest.raises(ImageRejected, match="not a DICOM file"):
        decode_dicom(tmp_path / "x.dcm")
