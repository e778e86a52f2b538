"""A disk that fills up during an import, a checkpoint write or an answer.

Two real faults, no root needed: a file-size limit (``RLIMIT_FSIZE``, with SIGXFSZ
ignored, so a write past it fails with ``EFBIG`` exactly as a full disk fails with
``ENOSPC``) in a child process for the media folder, and SQLite's ``max_page_count`` for
a database that cannot grow. The import stops with a message naming the file it was on;
nothing partial is left (no row without its file, no ``.part``); an answer that cannot
be stored says so instead of vanishing."""

import errno
import json
import subprocess
import sys

import numpy as np
import pytest

from core.importers import import_folder, import_npz
from core.paths import PROJECT_ROOT
from core.store import Answer, StorageFull, Store
from tests.conftest import write_png

LIMITED_IMPORT = """
import json, resource, signal, sys
from core.importers import import_folder
from core.store import StorageFull, Store
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
with Store(sys.argv[1]) as store:  # the database is made before the limit
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[3]), int(sys.argv[3])))
    try:
        report = import_folder(store, sys.argv[2], "clinic")
        print(json.dumps({"finished": report.summary()}))
    except StorageFull as exc:
        print(json.dumps({"stopped": str(exc)}))
"""


def _leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.rglob("*.part"))


def _images_and_files(store: Store) -> list[bool]:
    """For every image row, whether its pixel file is there."""
    return [store.media_path(r["pixel_path"]).is_file() for r in store.images.query()]


def test_the_media_disk_filling_up_stops_the_import_at_the_file_it_was_on(tmp_path):
    folder = tmp_path / "clinic"
    write_png(folder / "a_small.png", seed=1, size=(20, 20))
    write_png(folder / "b_small.png", seed=2, size=(20, 20))
    write_png(folder / "c_large.png", seed=3, size=(400, 400))  # ~480 kB of noise as PNG
    write_png(folder / "d_small.png", seed=4, size=(20, 20))
    db = tmp_path / "study.db"
    Store(db).close()
    done = subprocess.run(
        [sys.executable, "-c", LIMITED_IMPORT, str(db), str(folder), str(200_000)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert "stopped" in outcome, outcome
    message = outcome["stopped"]
    assert message.startswith("The disk is full: the import stopped at c_large.png")
    assert "2 files before it were imported" in message
    with Store(db) as store:
        assert store.images.count() == 2  # a and b; neither c nor anything after it
        assert _images_and_files(store) == [True, True]
        assert store.integrity_problems() == []
    assert _leftovers(tmp_path) == []


def _full_database(store: Store, spare_pages: int) -> None:
    """The database file may grow by ``spare_pages`` pages, then the disk is 'full'."""
    pages = store.db.execute("PRAGMA page_count").scalar_one()
    store.db.execute(f"PRAGMA max_page_count = {pages + spare_pages}")


def test_the_database_disk_filling_up_stops_the_import_and_keeps_rows_whole(tmp_path):
    folder = tmp_path / "clinic"
    for k in range(40):
        write_png(folder / f"eye_{k:02d}.png", seed=k, size=(16, 16))
    with Store(tmp_path / "study.db") as store:
        store.datasets.ensure("clinic", source=str(folder))
        _full_database(store, spare_pages=0)
        with pytest.raises(StorageFull, match=r"the import stopped at eye_\d\d\.png") as caught:
            import_folder(store, folder, "clinic")
        stored = store.images.count()
        assert 0 < stored < 40
        assert f"{stored} files before it were imported" in str(caught.value)
        stopped_at = str(caught.value).split("stopped at ")[1].split(",")[0]
        assert stopped_at == f"eye_{stored:02d}.png"  # the first one not stored
        assert all(_images_and_files(store))
        assert store.integrity_problems() == []
    assert _leftovers(tmp_path) == []


def test_an_npz_import_on_a_full_disk_names_the_image_it_stopped_at(tmp_path, monkeypatch):
    import core.importers.ingest as ingest

    archive = tmp_path / "retina.npz"
    rng = np.random.default_rng(0)
    np.savez(
        archive,
        train_images=rng.integers(0, 255, (6, 8, 8), dtype=np.uint8),
        train_labels=np.zeros((6, 1), dtype=int),
    )
    saved = ingest.save_pixels
    calls = {"n": 0}

    def fills_up(media_root, pixels):
        calls["n"] += 1
        if calls["n"] == 4:
            raise OSError(errno.ENOSPC, "No space left on device")
        return saved(media_root, pixels)

    monkeypatch.setattr(ingest, "save_pixels", fills_up)
    with Store(tmp_path / "study.db") as store:
        with pytest.raises(StorageFull, match=r"stopped at retina\.npz:train\[3\]"):
            import_npz(store, archive)
        assert store.images.count() == 3


def test_an_answer_on_a_full_database_fails_loudly_and_stores_nothing(tmp_path, make_png):
    for k in range(2):
        make_png(tmp_path / "clinic" / f"{k}.png", seed=k)
    with Store(tmp_path / "study.db") as store:
        import_folder(store, tmp_path / "clinic", "clinic")
        a, b = store.images.ids()
        raters = [store.raters.ensure(f"Rater {k}") for k in range(200)]
        _full_database(store, spare_pages=0)
        stored = 0
        with pytest.raises(StorageFull, match="database is full: this change was not saved"):
            for rater in raters:  # until the page the next answer needs cannot be added
                store.judgments.append(Answer(a, b, "left", rater, comment="x" * 1500))
                stored += 1
        assert 0 < stored < len(raters)
        assert len(store.judgments.export_rows()) == stored  # the refused one is not there
        store.db.execute("PRAGMA max_page_count = 1000000")  # space freed
        store.judgments.append(Answer(a, b, "right", raters[-1]))  # the store works again
        assert len(store.judgments.export_rows()) == stored + 1


def test_a_checkpoint_on_a_full_disk_names_the_file_and_leaves_no_part(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    import core.learning.checkpoint as checkpoint

    def full_disk_save(payload, handle):
        handle.write(b"PK" * 1000)  # some of it reached the disk
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoint.torch, "save", full_disk_save)
    target = tmp_path / "models" / "model-v3.pt"
    with pytest.raises(StorageFull, match=r"full: the checkpoint model-v3\.pt was not written"):
        checkpoint._write_verified(target, {"anchor": torch.zeros(2)})
    assert list((tmp_path / "models").iterdir()) == []
