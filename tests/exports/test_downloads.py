"""The Data page's export file: written beside the media folder, whole or not at all."""

import pytest

from core.exports import ExportUnavailable
from core.exports.downloads import DOWNLOAD_LIMIT_BYTES, exports_folder, prepare_export
from core.exports.writers import TableFile
from core.store import Store


def test_a_prepared_export_replaces_the_earlier_one_only_once_written(study, monkeypatch):
    with Store(study.location) as store:
        first = prepare_export(store, study.version, "scores", "csv")
        assert first.path.parent == store.media_root.parent / "exports"
        assert first.path.parent == exports_folder(store)
        assert first.rows == study.images and first.size == first.path.stat().st_size
        assert first.downloadable and first.size < DOWNLOAD_LIMIT_BYTES
        before = first.path.read_bytes()

        def fail_half_way(self, batch):
            raise OSError("disk full")

        monkeypatch.setattr(TableFile, "write", fail_half_way)
        with pytest.raises(OSError, match="disk full"):
            prepare_export(store, study.version, "scores", "csv")
        assert first.path.read_bytes() == before  # the earlier file, untouched
        assert [p.name for p in first.path.parent.iterdir()] == [first.path.name]


def test_a_version_without_scores_has_nothing_to_prepare(study):
    with Store(study.location) as store:
        with pytest.raises(ExportUnavailable, match="no scores"):
            prepare_export(store, study.unscored_version, "scores", "parquet")
        assert not list(exports_folder(store).glob("*"))
