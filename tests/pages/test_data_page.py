from streamlit.testing.v1 import AppTest

from core.store import Store
from tests.pages.conftest import PAGES, sign_in


def test_data_page_lists_datasets_and_thumbnails(seeded_db):
    app = AppTest.from_file(str(PAGES / "data.py"), default_timeout=30).run()
    assert not app.exception
    assert "Synthetic cohort" in app.dataframe[0].value["name"].tolist()
    assert app.selectbox[0].value == "Synthetic cohort"
    assert "4 patients" in app.caption[0].value
    assert len(app.get("image")) > 0


def test_filtering_by_grade_narrows_the_grid(seeded_db):
    app = sign_in(AppTest.from_file(str(PAGES / "data.py"), default_timeout=30), "Dr Lead")

    def images_counted():
        (overview,) = [c.value for c in app.caption if " images · " in c.value]
        return int(overview.split(" images")[0])

    all_count = images_counted()
    grade = app.multiselect[0].options[0]
    app.multiselect[0].select(grade).run()
    shown = len(app.get("image"))
    filtered = images_counted()
    assert 0 < shown < all_count
    assert filtered == all_count  # the caption counts the whole dataset, the grid filters


def _grades_shown(app) -> list[str]:
    """Every place a grade could show: thumbnails' captions, captions, filters."""
    thumbnails = [c for image in app.get("image") for c in image.captions]
    texts = thumbnails + [c.value for c in app.caption] + [m.label for m in app.multiselect]
    return [t for t in texts if "grade" in t.lower()]


def test_grades_are_shown_to_study_leads_only(seeded_db):
    lead = sign_in(_data_page(), "Dr Lead")  # the first rater of this database
    assert len(lead.get("image")) > 0
    grades = _grades_shown(lead)
    assert any("by grade" in g for g in grades) and any("Grade" in g for g in grades)
    assert sum(" · grade " in g for g in grades) == len(lead.get("image"))
    for app in (_data_page().run(), sign_in(_data_page(), "Dr Rater")):  # nobody, a rater
        assert not app.exception and len(app.get("image")) > 0
        assert _grades_shown(app) == []
        assert any("4 patients" in c.value for c in app.caption)  # the rest stays


def test_empty_database_says_how_to_start(tmp_path, monkeypatch):
    monkeypatch.setenv("SEVERITY_DB", str(tmp_path / "empty.db"))
    app = AppTest.from_file(str(PAGES / "data.py"), default_timeout=30).run()
    assert not app.exception
    assert "database is empty" in app.info[0].value


def _data_page():
    return AppTest.from_file(str(PAGES / "data.py"), default_timeout=30)


def _import_folder(app, folder):
    app.radio[0].set_value("Folder on the server").run()
    app.text_input(key="server_folder").input(folder).run()
    next(b for b in app.button if b.label == "Import folder").click().run()
    return app


def test_import_from_a_folder_inside_the_import_root_shows_the_report(
    tmp_path, monkeypatch, make_png
):
    monkeypatch.setenv("SEVERITY_DB", str(tmp_path / "app.db"))
    make_png(tmp_path / "import" / "in" / "a.png", seed=3)
    (tmp_path / "import" / "in" / "b.png").write_bytes(b"")
    app = _import_folder(sign_in(_data_page()), "in")  # the first rater: the study lead
    assert not app.exception
    assert app.success[0].value == "1 imported, 0 duplicate, 1 rejected"
    with Store(tmp_path / "app.db") as store:
        assert store.images.count() == 1


def test_a_folder_outside_the_import_root_is_refused(tmp_path, monkeypatch, make_png):
    monkeypatch.setenv("SEVERITY_DB", str(tmp_path / "app.db"))
    make_png(tmp_path / "outside" / "a.png", seed=3)
    (tmp_path / "pseudonym.salt").write_text("c0ffee-salt-value")
    app = _import_folder(sign_in(_data_page()), str(tmp_path / "outside"))
    assert "Nothing was imported" in app.error[0].value
    assert str(tmp_path / "import") in app.error[0].value
    app.text_input(key="server_manifest").input("../pseudonym.salt").run()
    app = _import_folder(app, str(tmp_path / "import"))
    assert all("c0ffee" not in e.value for e in app.error)
    with Store(tmp_path / "app.db") as store:
        assert store.images.count() == 0


def test_only_a_study_lead_sees_import_export_and_backup(seeded_db):
    anonymous = _data_page().run()
    assert not anonymous.exception
    assert [t.label for t in anonymous.tabs] == ["Browse"]
    lead = sign_in(_data_page(), "Dr Lead")  # first rater of this database
    assert [t.label for t in lead.tabs] == ["Browse", "Import", "Export"]
    rater = sign_in(_data_page(), "Dr Rater")
    assert not rater.exception
    assert [t.label for t in rater.tabs] == ["Browse"]
    assert not rater.get("download_button") and not rater.get("file_uploader")
    assert "study leads: ask yours" in rater.info[0].value


def test_names_are_shown_as_text_not_markdown(seeded_db):
    app = sign_in(_data_page(), "![x](http://evil.example/a.png) **Dr**")
    caption = next(c.value for c in app.sidebar.caption if "Rating as" in c.value)
    assert "\\!\\[x\\]\\(http\\:" in caption and "\\*\\*Dr\\*\\*" in caption


def test_export_tab_offers_csv_parquet_and_a_backup(seeded_db):
    app = sign_in(_data_page())
    assert not app.exception
    app.button(key="prepare_backup").click().run()
    assert not app.exception
    kinds = {d.proto.label for d in app.get("download_button")}
    assert {"Judgments as CSV", "Judgments as Parquet", "Download backup (SQLite)"} <= kinds


def test_a_study_lead_marks_ungraded_images_normal(tmp_path, monkeypatch, make_png):
    from core.importers import import_folder

    for n in range(6):
        make_png(tmp_path / "clinic" / f"p{n}.png", seed=n)
    db = tmp_path / "app.db"
    with Store(db) as store:
        import_folder(store, tmp_path / "clinic", "My clinic")
        ids = store.images.ids()
    monkeypatch.setenv("SEVERITY_DB", str(db))
    app = sign_in(_data_page())  # the first rater of a database is its study lead
    picker = app.multiselect[-1]
    assert picker.label.startswith("Mark as normal")
    picker.select(ids[0]).select(ids[2]).run()
    app.button(key="mark_normal").click().run()
    assert "2 images marked normal." in app.success[0].value
    with Store(db) as store:
        assert [store.images.get(i)["grade"] for i in ids[:3]] == [0, None, 0]


def test_a_lead_can_download_a_versions_results_and_a_rater_sees_none_of_it(seeded_db):
    from core.exports import WHATS, export_version_table
    from core.exports.downloads import exports_folder
    from tests.exports.version_study import add_scored_version

    with Store(seeded_db) as store:
        add_scored_version(store)
        folder, images = exports_folder(store), store.images.count()
    lead = sign_in(_data_page(), "Dr Lead")
    assert not lead.exception
    assert lead.selectbox(key="export_version").value.startswith("v1 · conpro")
    assert lead.selectbox(key="export_what").options == list(WHATS)
    assert lead.radio(key="export_format").options == ["csv", "parquet"]
    assert "export_version_download" not in _download_keys(lead)  # nothing written yet
    lead.button(key="export_version_prepare").click().run()
    assert not lead.exception
    download = lead.download_button(key="export_version_download")
    assert download.label == "Download scores of v1 (csv)"
    written = folder / "severity-v1-scores.csv"
    assert any(f"{images} rows" in c.value and str(written) in c.value for c in lead.caption)
    with Store(seeded_db) as store:  # the file is the export, whole
        export_version_table(store, 1, "scores", "csv", folder / "direct.csv")
    assert written.read_bytes() == (folder / "direct.csv").read_bytes()
    assert sorted(p.name for p in folder.iterdir()) == ["direct.csv", written.name]
    lead.selectbox(key="export_what").set_value("embeddings").run()
    assert "export_version_download" not in _download_keys(lead)  # not the scores file
    rater = sign_in(_data_page(), "Dr Rater")
    assert not rater.exception
    assert not rater.download_button
    shown = {w.key for w in [*rater.selectbox, *rater.radio, *rater.button]}
    assert not shown & {"export_version", "export_what", "export_format", "export_version_prepare"}


def test_an_export_too_large_for_the_browser_stays_on_the_server(seeded_db, monkeypatch):
    """Streamlit holds a download in memory: above the limit the page says where the file
    is and which command writes it, and offers no download."""
    from core.exports import downloads
    from tests.exports.version_study import add_scored_version

    with Store(seeded_db) as store:
        add_scored_version(store)
        written = downloads.exports_folder(store) / "severity-v1-trends.parquet"
    monkeypatch.setattr(downloads, "DOWNLOAD_LIMIT_BYTES", 100)
    lead = sign_in(_data_page(), "Dr Lead")
    lead.selectbox(key="export_what").set_value("trends").run()
    lead.radio(key="export_format").set_value("parquet").run()
    lead.button(key="export_version_prepare").click().run()
    assert not lead.exception
    assert written.stat().st_size > 100
    assert "export_version_download" not in _download_keys(lead)
    (note,) = [i.value for i in lead.info if "larger than" in i.value]
    assert str(written) in note
    assert "python -m core export --version 1 trends --format parquet" in note


def _download_keys(app) -> set[str]:
    return {b.key for b in app.download_button}
