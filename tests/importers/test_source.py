"""One import entry point: it tells an archive, a file and a folder apart by extension,
in any case, and takes uploads (archives, images and a manifest) together."""

import numpy as np
import pytest

from core.importers import import_source, import_uploads


def grey_archive(path, count=3):
    rng = np.random.default_rng(0)
    np.savez(
        path,
        test_images=rng.integers(0, 255, (count, 8, 8), dtype=np.uint8),
        test_labels=np.arange(count).reshape(-1, 1) % 3,
    )
    return path


def test_an_archive_in_capitals_is_an_archive(store, tmp_path):
    archive = tmp_path / "SCANS.NPZ"
    grey_archive(tmp_path / "scans.npz").rename(archive)
    report = import_source(store, archive)
    assert report.counts()["imported"] == 3
    assert store.datasets.by_name("SCANS") is not None


def test_a_folder_with_its_manifest_and_a_missing_source(store, tmp_path, make_png):
    make_png(tmp_path / "in" / "a.png", seed=1)
    (tmp_path / "m.csv").write_text("file,grade\na.png,2\n")
    report = import_source(store, tmp_path / "in", manifest=tmp_path / "m.csv")
    assert report.counts()["imported"] == 1 and store.images.query()[0]["grade"] == 2
    assert store.datasets.by_name("in") is not None
    with pytest.raises(FileNotFoundError, match="does not exist"):
        import_source(store, tmp_path / "nowhere")


def test_uploads_import_archives_then_files_with_the_csv_as_manifest(store, tmp_path, make_png):
    grey_archive(tmp_path / "Batch.NpZ", count=2)
    make_png(tmp_path / "x.PNG", seed=3)
    (tmp_path / "Manifest.CSV").write_text("file,grade\nx.PNG,4\n")
    reports = import_uploads(store, tmp_path, "uploads")
    assert [r.counts()["imported"] for r in reports] == [2, 1]
    assert 4 in {r["grade"] for r in store.images.query()}
