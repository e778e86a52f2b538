from streamlit.testing.v1 import AppTest

from core.store import Store
from tests.pages.conftest import PAGES


def test_data_page_lists_datasets_and_thumbnails(seeded_db):
    app = AppTest.from_file(str(PAGES / "data.py"), default_timeout=30).run()
    assert not app.exception
    assert "Synthetic cohort" in app.dataframe[0].value["name"].tolist()
    assert app.selectbox[0].value == "Synthetic cohort"
    assert "4 patients" in app.caption[0].value
    assert len(app.get("image")) > 0


def test_filtering_by_grade_narrows_the_grid(seeded_db):
    app = AppTest.from_file(str(PAGES / "data.py"), default_timeout=30).run()
    all_count = int(app.caption[0].value.split(" images")[0])
    grade = app.multiselect[0].options[0]
    app.multiselect[0].select(grade).run()
    shown = len(app.get("image"))
    filtered = int(app.caption[0].value.split(" images")[0])
    assert 0 < shown < all_count
    assert filtered == all_count  # the caption counts the whole dataset, the grid filters


def test_empty_database_says_how_to_start(tmp_path, monkeypatch):
    monkeypatch.setenv("SEVERITY_DB", str(tmp_path / "empty.db"))
    app = AppTest.from_file(str(PAGES / "data.py"), default_timeout=30).run()
    assert not app.exception
    assert "database is empty" in app.info[0].value


def test_import_from_a_server_folder_shows_the_report(tmp_path, monkeypatch, make_png):
    monkeypatch.setenv("SEVERITY_DB", str(tmp_path / "app.db"))
    make_png(tmp_path / "in" / "a.png", seed=3)
    (tmp_path / "in" / "b.png").write_bytes(b"")
    app = AppTest.from_file(str(PAGES / "data.py"), default_timeout=30).run()
    app.radio[0].set_value("Folder on the server").run()
    app.text_input[1].input(str(tmp_path / "in")).run()
    app.button[0].click().run()
    assert not app.exception
    assert app.success[0].value == "1 imported, 0 duplicate, 1 rejected"
    with Store(tmp_path / "app.db") as store:
        assert store.images.count() == 1


def test_export_tab_offers_csv_parquet_and_a_backup(seeded_db):
    app = AppTest.from_file(str(PAGES / "data.py"), default_timeout=30).run()
    assert not app.exception
    app.button(key="prepare_backup").click().run()
    assert not app.exception
    kinds = {d.proto.label for d in app.get("download_button")}
    assert {"Judgments as CSV", "Judgments as Parquet", "Download backup (SQLite)"} <= kinds
