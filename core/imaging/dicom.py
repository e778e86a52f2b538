"""DICOM to display pixels, de-identified on the way in.

Only pixel data and a short whitelist of technical attributes ever leave this module.
The patient identifier is returned so the caller can pseudonymise it (salted hash),
and is never stored as such; names, birth dates, institutions and the rest are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import SupportsFloat

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError
from pydicom.pixels import apply_color_lut, apply_modality_lut, apply_voi_lut, pixel_array

from .decode import DecodedImage, ImageRejected, check_budget, decode_budget, to_display_pixels

# Technical attributes safe to keep (no free text that could carry identity).
SAFE_ATTRIBUTES = ("Modality", "PhotometricInterpretation", "BitsStored", "ViewPosition")
PIXEL_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")


@dataclass
class DecodedDicom:
    image: DecodedImage
    patient_source_id: str | None  # to be pseudonymised by the caller, never stored
    study_date: date | None  # to be date-shifted by the caller
    laterality: str | None  # 'L', 'R', 'B' or None
    identifiers: list[str]  # identifying header values, for redacting file paths


def decode_dicom(path: Path) -> DecodedDicom:
    size = path.stat().st_size
    if size == 0:
        raise ImageRejected("The file is empty (0 bytes).")
    if size > decode_budget():
        raise ImageRejected(
            f"The DICOM file is {size / 2**20:,.0f} MB, more than this app reads "
            f"({decode_budget() / 2**20:,.0f} MB). Export the frames you need separately."
        )
    try:
        ds = pydicom.dcmread(path)
    except InvalidDicomError as exc:
        raise ImageRejected("This file is not a DICOM file (no DICOM header was found).") from exc
    except Exception as exc:
        raise ImageRejected(f"The DICOM file is damaged and could not be read: {exc}") from exc
    if not any(keyword in ds for keyword in PIXEL_KEYWORDS):
        raise ImageRejected(
            "This DICOM file contains no image (no pixel data): it may be a report, "
            "a structured document or a directory index."
        )
    frames = _header_int(ds, "NumberOfFrames", default=1)
    index = frames // 2
    _check_frame_budget(ds)
    array = _decode_frame(ds, index if frames > 1 else None)
    array = _to_presentation(array, ds)
    decoded = to_display_pixels(array)
    if frames > 1:
        decoded.quality_flags.insert(
            0, f"multi-frame: frame {index + 1} of {frames} (the middle one) is shown"
        )
    decoded.metadata = {
        "format": "DICOM",
        "frames": frames,
        "transfer_syntax": _transfer_syntax_name(ds),
        **{k: str(ds.get(k)) for k in SAFE_ATTRIBUTES if ds.get(k) not in (None, "")},
    }
    return DecodedDicom(
        image=decoded,
        patient_source_id=str(ds.get("PatientID", "")).strip() or None,
        study_date=_study_date(ds),
        laterality=_laterality(ds),
        identifiers=_identifying_values(ds),
    )


def _decode_frame(ds: pydicom.Dataset, index: int | None) -> np.ndarray:
    syntax = _transfer_syntax_name(ds)
    try:
        return pixel_array(ds, index=index) if index is not None else ds.pixel_array
    except (NotImplementedError, RuntimeError) as exc:
        if ds.file_meta.get("TransferSyntaxUID") and ds.file_meta.TransferSyntaxUID.is_compressed:
            raise ImageRejected(
                f"The image is compressed as '{syntax}', which this installation cannot "
                "decode. Export it uncompressed, or install a DICOM decoder plug-in."
            ) from exc
        raise ImageRejected(f"The DICOM pixel data could not be decoded: {exc}") from exc
    except Exception as exc:
        raise ImageRejected(
            f"The DICOM pixel data is incomplete or damaged and could not be decoded: {exc}"
        ) from exc


def _check_frame_budget(ds: pydicom.Dataset) -> None:
    """One frame as decoded, plus its float32 presentation copy, within the budget."""
    samples = _header_int(ds, "SamplesPerPixel", default=1)
    bits = _header_int(ds, "BitsAllocated", default=16)
    per_pixel = samples * -(-bits // 8) + (4 if samples == 1 else 0)
    check_budget(
        _header_int(ds, "Columns", default=0),
        _header_int(ds, "Rows", default=0),
        per_pixel,
        f"{bits}-bit DICOM, one frame",
    )


def _modality_values(array: np.ndarray, ds: pydicom.Dataset) -> np.ndarray:
    """The modality LUT (rescale slope and intercept, usually) in float32."""
    if "ModalityLUTSequence" in ds:
        return apply_modality_lut(array, ds)  # a lookup table: integer output
    values = array.astype(np.float32)
    slope = float(ds.get("RescaleSlope", 1) or 1)
    intercept = float(ds.get("RescaleIntercept", 0) or 0)
    if slope != 1:
        values *= slope
    if intercept:
        values += intercept
    return values


def _to_presentation(array: np.ndarray, ds: pydicom.Dataset) -> np.ndarray:
    """Apply what the file says about how its pixels are meant to be looked at."""
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2"))
    if photometric == "PALETTE COLOR":
        return apply_color_lut(array, ds)
    if _header_int(ds, "SamplesPerPixel", default=1) != 1:
        return array  # pydicom already returns colour as RGB
    array = _modality_values(array, ds)
    center, width = _first(ds.get("WindowCenter")), _first(ds.get("WindowWidth"))
    if center is not None and width is not None and float(width) > 1:
        low, high = float(center) - float(width) / 2, float(center) + float(width) / 2
        array = np.asarray(array, dtype=np.float32)
        np.clip(array, low, high, out=array)
        array -= low
        array *= 255.0 / (high - low)
        array = array.round().astype(np.uint8)
    elif "VOILUTSequence" in ds:
        array = apply_voi_lut(array, ds)
    if photometric == "MONOCHROME1":  # low values are white in MONOCHROME1
        array = to_display_pixels(array).pixels if array.dtype != np.uint8 else array
        array = 255 - array
    return array


def _header_int(ds: pydicom.Dataset, keyword: str, default: int) -> int:
    try:
        return int(ds.get(keyword, default) or default)
    except (TypeError, ValueError) as exc:
        raise ImageRejected(
            f"The DICOM header is damaged: {keyword} is {ds.get(keyword)!r}, not a number."
        ) from exc


def _first(value: str | SupportsFloat | pydicom.multival.MultiValue | None) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, pydicom.multival.MultiValue):
        return float(value[0]) if len(value) else None
    return float(value)


def _transfer_syntax_name(ds: pydicom.Dataset) -> str:
    uid = ds.file_meta.get("TransferSyntaxUID") if hasattr(ds, "file_meta") else None
    return uid.name if uid is not None else "unknown"


def _study_date(ds: pydicom.Dataset) -> date | None:
    for keyword in ("StudyDate", "SeriesDate", "AcquisitionDate", "ContentDate"):
        value = str(ds.get(keyword, "") or "").strip()
        if len(value) >= 8 and value[:8].isdigit():
            try:
                return date(int(value[:4]), int(value[4:6]), int(value[6:8]))
            except ValueError:
                continue
    return None


def _laterality(ds: pydicom.Dataset) -> str | None:
    for keyword in ("ImageLaterality", "Laterality"):
        value = str(ds.get(keyword, "") or "").strip().upper()
        if value in ("L", "R", "B"):
            return value
    return None


def _identifying_values(ds: pydicom.Dataset) -> list[str]:
    values = []
    for keyword in ("PatientID", "PatientName", "OtherPatientIDs", "AccessionNumber"):
        text = str(ds.get(keyword, "") or "").strip()
        if text:
            values.append(text)
            values += [part for part in text.replace("^", " ").split() if len(part) >= 3]
    return sorted(set(values), key=len, reverse=True)
