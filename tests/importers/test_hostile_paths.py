"""Probes of a hostile user: server paths outside the import root, symlinks out of it,
and manifests that are secrets rather than CSV files. Nothing is read from outside,
and no message shows a file's contents."""

import os

import pytest

from core.importers import (
    ManifestError,
    OutsideImportRoot,
    import_folder,
    import_root,
    inside_import_root,
)
from core.importers.manifest import read_manifest
from core.store import Store

SECRET = "3f9c2a7be41d0a55c0ffee5ecret"


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.delenv("SEVERITY_IMPORT_ROOT", raising=False)
    return import_root(tmp_path / "data" / "media")


def test_the_default_root_is_import_beside_the_media_folder(db_location, tmp_path, monkeypatch):
    """For SQLite beside the database file; for PostgreSQL beside ``$SEVERITY_MEDIA``,
    never a folder named after the URL in the working directory."""
    monkeypatch.delenv("SEVERITY_IMPORT_ROOT", raising=False)
    monkeypatch.chdir(tmp_path)
    with Store(db_location) as store:
        assert import_root(store.media_root) == (tmp_path / "import").resolve()
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) in (
        ["import"],
        ["import", "media"],
    )
    monkeypatch.setenv("SEVERITY_IMPORT_ROOT", str(tmp_path / "studies"))
    assert import_root(tmp_path / "media") == (tmp_path / "studies").resolve()


@pytest.mark.parametrize(
    "typed",
    ["/etc/passwd", "../pseudonym.salt", "../app.db", "sub/../../app.db", "~/.bashrc"],
)
def test_paths_outside_the_root_are_refused_naming_the_root(root, typed):
    (root.parent / "pseudonym.salt").write_text(SECRET)
    (root.parent / "app.db").write_text(SECRET)
    (root / "sub").mkdir()
    with pytest.raises(OutsideImportRoot) as refused:
        inside_import_root(root, typed)
    message = str(refused.value)
    assert str(root) in message and SECRET not in message and "root:" not in message


def test_a_symlink_out_of_the_root_is_resolved_then_refused(root, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    os.symlink(outside, root / "looks-inside")
    with pytest.raises(OutsideImportRoot, match="outside it"):
        inside_import_root(root, "looks-inside")
    (root / "study").mkdir()
    assert inside_import_root(root, "study") == root / "study"
    assert inside_import_root(root, root / "study") == root / "study"


def test_symlinked_folders_are_not_walked_and_their_names_not_reported(
    store, root, tmp_path, make_png
):
    make_png(tmp_path / "private" / "MRN-123456-secret-name.png", seed=1)
    make_png(root / "study" / "ok.png", seed=2)
    os.symlink(tmp_path / "private", root / "study" / "linked")
    report = import_folder(store, root / "study", "clinic")
    assert [o.file for o in report.outcomes] == ["ok.png"]
    assert store.images.count() == 1


@pytest.mark.parametrize(
    "content",
    [
        SECRET + "\n",  # the salt: one line, no header
        "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n",
        "file,grade\n" + SECRET + ".png,1\n" + SECRET + ".png,2\n",  # a name listed twice
        "\xff\xfe" + SECRET,
    ],
)
def test_manifest_errors_never_echo_the_file(tmp_path, content):
    manifest = tmp_path / "m.csv"
    manifest.write_bytes(content.encode("latin-1"))
    with pytest.raises(ManifestError) as refused:
        read_manifest(manifest)
    message = str(refused.value)
    assert SECRET not in message and "root" not in message and "daemon" not in message


def test_row_errors_name_the_column_not_the_value(tmp_path):
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"file,grade,visit_date\na.png,{SECRET},2021-01-01\n")
    (row,) = read_manifest(manifest).values()
    assert row.problem == "manifest line 2: grade is not a whole number of at least 0"
