import numpy as np
import pytest

from core.importers import NpzFormatError, import_npz
from core.paths import RETINAMNIST_NPZ


def test_shipped_retinamnist_imports_with_grades_and_splits(store):
    report = import_npz(store, RETINAMNIST_NPZ, "RetinaMNIST")
    assert report.counts() == {"imported": 1200, "duplicate": 0, "rejected": 0}
    assert store.images.grade_counts() == {0: 540, 1: 140, 2: 234, 3: 214, 4: 72}
    assert store.images.count(split="val") == 120
    assert import_npz(store, RETINAMNIST_NPZ, "RetinaMNIST").counts()["imported"] == 0


def test_grey_npz_and_test_split(store, tmp_path):
    rng = np.random.default_rng(0)
    np.savez(
        tmp_path / "g.npz",
        test_images=rng.integers(0, 255, (3, 8, 8), dtype=np.uint8),
        test_labels=np.array([[0], [2], [1]]),
    )
    import_npz(store, tmp_path / "g.npz")
    assert store.images.count(split="test") == 3


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"x": np.zeros(3)}, "none of train_images"),
        ({"train_images": np.zeros((2, 4, 4), np.uint8)}, "no train_labels"),
        (
            {"train_images": np.zeros((2, 4, 4), np.uint8), "train_labels": np.zeros((3, 1))},
            "2 images but 3 labels",
        ),
        (
            {"train_images": np.zeros((2, 4, 4), np.uint8), "train_labels": np.zeros((2, 4))},
            "multi-label",
        ),
    ],
)
def test_malformed_npz_is_refused_before_anything_is_stored(store, tmp_path, arrays, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(NpzFormatError, match=message):
        import_npz(store, tmp_path / "bad.npz")
    assert store.datasets.list() == []


def test_a_file_that_is_not_an_archive_is_refused(store, tmp_path):
    (tmp_path / "fake.npz").write_text("not a zip")
    with pytest.raises(NpzFormatError, match="not a readable .npz"):
        import_npz(store, tmp_path / "fake.npz")
