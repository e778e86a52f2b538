"""Data page: what is in the store, a filterable thumbnail grid, and import. Grades are
shown to study leads only: a rater who has seen an image's grade no longer judges it
blind."""

from __future__ import annotations

import tempfile
from functools import partial
from pathlib import Path

import pandas as pd
import streamlit as st

from core.exports import (
    DOWNLOAD_LIMIT_BYTES,
    FORMATS,
    WHATS,
    ExportUnavailable,
    PreparedExport,
    database_backup,
    judgments_csv,
    judgments_parquet,
    prepare_export,
)
from core.importers import (
    ManifestError,
    NpzFormatError,
    OutsideImportRoot,
    import_root,
    import_source,
    import_uploads,
    inside_import_root,
)
from core.store import StorageFull
from pages.common import open_store, signed_in_user, worker_banner

PAGE_SIZE = 48

store = open_store()
st.title("Data")
worker_banner(store)
user = signed_in_user(store)
lead = user is not None and user.is_admin


@st.cache_data(ttl=60, show_spinner=False)
def _health(db_path: str) -> list[str]:
    from core.store import Store

    with Store(db_path) as fresh:
        return fresh.integrity_problems()


if lead:
    problems = _health(store.path)
    if problems:
        st.error("Database check found problems: " + "; ".join(problems[:5]))
    else:
        st.caption(":material/verified: Database check: sound (integrity and foreign keys).")

datasets = store.datasets.list()
if not datasets:
    st.info("The database is empty. Import images below, or run `python -m core demo`.")
else:
    overview = pd.DataFrame(datasets)[["name", "images", "patients", "description"]]
    st.dataframe(overview, hide_index=True, width="stretch")

if lead:
    tab_browse, tab_import, tab_export = st.tabs(["Browse", "Import", "Export"])
else:
    st.info(
        "Importing, exporting and backing up are for study leads: "
        + ("sign in (in the sidebar)." if user is None else "ask yours."),
        icon=":material/lock:",
    )
    (tab_browse,) = st.tabs(["Browse"])

with tab_browse:
    if datasets:
        names = {d["name"]: d["id"] for d in datasets}
        left, middle, right = st.columns(3)
        dataset_name = left.selectbox("Dataset", list(names))
        dataset_id = names[dataset_name]
        counts = store.images.grade_counts(dataset_id)
        grade_options = sorted(g for g in counts if g is not None)
        grades = middle.multiselect("Grade (0 = normal)", grade_options) if lead else []
        patients = store.patients.list(dataset_id)
        patient_names = {p["pseudonym"]: p["id"] for p in patients}
        patient = right.selectbox("Patient", ["All", *patient_names])
        visits = sum(p["visits"] for p in patients)
        by_grade = ", ".join(
            f"{g if g is not None else '?'}: {n}"
            for g, n in sorted(counts.items(), key=lambda x: x[0] or -1)
        )
        st.caption(
            f"{sum(counts.values())} images · {len(patients)} patients · {visits} visits"
            + (f" · by grade: {by_grade}" if lead else "")
        )
        filters = {
            "dataset_id": dataset_id,
            "grades": grades or None,
            "patient_id": patient_names.get(patient),
        }
        total = store.images.count(**filters)
        pages = max(1, -(-total // PAGE_SIZE))
        page = st.number_input("Page", 1, pages, 1) if pages > 1 else 1
        rows = store.images.query(**filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        columns = st.columns(8)
        for index, row in enumerate(rows):
            caption = f"#{row['id']}" + (f" · grade {row['grade']}" if lead else "")
            if row["visit_date"]:
                caption += f" · {row['visit_date']}"
            columns[index % 8].image(
                str(store.media_path(row["pixel_path"])), caption=caption, width="stretch"
            )
        ungraded = [r["id"] for r in rows if r["grade"] is None]
        if lead and ungraded:
            chosen = st.multiselect(
                "Mark as normal (images on this page without a grade)",
                ungraded,
                format_func=lambda i: f"#{i}",
                help="A dataset without grades learns from your answers; a few images "
                "known to be normal give its severity score a zero point.",
            )
            if st.button("Mark as normal", disabled=not chosen, key="mark_normal"):
                marked = store.images.mark_normal(chosen)
                st.session_state.data_notice = (
                    f"{marked} {'image' if marked == 1 else 'images'} marked normal."
                )
                st.rerun()
        if notice := st.session_state.pop("data_notice", None):
            st.success(notice)


def _show_report(report) -> None:
    st.success(report.summary())
    frame = pd.DataFrame([o.__dict__ for o in report.outcomes])
    if not frame.empty:
        st.dataframe(frame, hide_index=True, width="stretch")


def _import_tab() -> None:
    root = import_root(store.media_root)
    dataset_name = st.text_input("Dataset name", value="My images")
    source = st.radio("Source", ["Upload files", "Folder on the server"], horizontal=True)
    progress = st.progress(0.0, text="Waiting")

    def on_progress(done: int, total: int) -> None:
        progress.progress(done / max(total, 1), text=f"{done} of {total} files")

    try:
        if source == "Upload files":
            uploads = st.file_uploader(
                "Images, DICOM, a MedMNIST .npz, and optionally a manifest.csv",
                accept_multiple_files=True,
            )
            if uploads and st.button("Import uploaded files", type="primary"):
                with tempfile.TemporaryDirectory() as folder:
                    _import_uploads(Path(folder), uploads, dataset_name, on_progress)
        else:
            st.caption(f"Server paths are relative to the import folder `{root}`.")
            folder = st.text_input("Folder inside the import folder", key="server_folder")
            manifest = st.text_input(
                "Manifest CSV inside the import folder (optional)", key="server_manifest"
            )
            if folder and st.button("Import folder", type="primary"):
                source_folder = inside_import_root(root, folder)
                manifest_file = inside_import_root(root, manifest) if manifest else None
                _show_report(
                    import_source(store, source_folder, dataset_name, manifest_file, on_progress)
                )
    except (ManifestError, NpzFormatError, FileNotFoundError, OutsideImportRoot) as exc:
        st.error(f"Nothing was imported: {exc}")
    except StorageFull as exc:  # the files before the one it stopped at are kept
        st.error(str(exc))


def _import_uploads(root: Path, uploads, dataset_name: str, on_progress) -> None:
    """Uploaded files go through the same importers and checks as server folders."""
    for upload in uploads:
        (root / Path(upload.name).name).write_bytes(upload.getvalue())
    for report in import_uploads(store, root, dataset_name, on_progress):
        _show_report(report)


def _export_tab() -> None:
    st.caption(
        "Every judgment ever written, undo and correction rows included (the "
        "`supersedes` column links a row to the one it replaces). Text cells that a "
        "spreadsheet would run as a formula are prefixed with an apostrophe."
    )
    left, right = st.columns(2)
    left.download_button(
        "Judgments as CSV", judgments_csv(store), "judgments.csv", "text/csv", key="export_csv"
    )
    right.download_button(
        "Judgments as Parquet",
        judgments_parquet(store),
        "judgments.parquet",
        "application/octet-stream",
        key="export_parquet",
    )
    _version_exports()
    if st.button("Prepare a database backup", key="prepare_backup"):
        st.download_button(
            "Download backup (SQLite)",
            database_backup(store),
            "severity-studio-backup.db",
            "application/x-sqlite3",
            key="backup",
        )


def _version_exports() -> None:
    """A version's scores, embeddings, trend calls or projections: written to a file on
    the server from one snapshot of the study when asked, then downloaded from that file
    (Streamlit holds a download in memory, so a very large file is not offered)."""
    st.markdown("**A version's results**")
    ready = {
        f"v{m['version']} · {m['method']} · {m['dataset'] or 'all datasets'} · {m['status']}": m
        for m in store.models.list()
        if m["chain"] == "ready"
    }
    if not ready:
        st.caption("No version has its scores and map yet.")
        return
    st.caption(
        "Scores: one row per image (pseudonymous patient, visit date, dataset, split, "
        "grade where known, severity score and its spread). Embeddings: one column per "
        "dimension. Trends: consecutive visits with their probabilities. Projections: "
        "2-D and 3-D coordinates per method. The README lists every column and its type."
    )
    left, middle, right = st.columns(3)
    version = ready[left.selectbox("Version", list(ready), key="export_version")]["version"]
    what = middle.selectbox("What", WHATS, key="export_what")
    file_format = right.radio("Format", FORMATS, horizontal=True, key="export_format")
    if st.button(f"Prepare {what} of v{version} ({file_format})", key="export_version_prepare"):
        try:
            with st.spinner("Writing the export on the server…"):
                st.session_state["prepared_export"] = prepare_export(
                    store, version, what, file_format
                )
        except ExportUnavailable as reason:
            st.warning(str(reason))
            return
    prepared = st.session_state.get("prepared_export")
    if (
        prepared is None
        or (prepared.version, prepared.what, prepared.format) != (version, what, file_format)
        or not prepared.path.is_file()
    ):
        return
    _offer_prepared(prepared)


def _offer_prepared(prepared: PreparedExport) -> None:
    size = f"{prepared.size / 2**20:.1f} MB"
    st.caption(f"{prepared.rows} rows, {size}, written on the server to `{prepared.path}`.")
    if not prepared.downloadable:
        st.info(
            f"At {size} this file is larger than the {DOWNLOAD_LIMIT_BYTES // 2**20} MB the "
            "browser download takes: the app would hold all of it in the server's memory "
            f"while it is downloaded. Copy it from the server (`{prepared.path}`), or write "
            f"it where you need it with `{prepared.command}` on the server."
        )
        return
    st.download_button(
        f"Download {prepared.what} of v{prepared.version} ({prepared.format})",
        partial(Path.read_bytes, prepared.path),  # read when clicked, not on every rerun
        prepared.path.name,
        "text/csv" if prepared.format == "csv" else "application/vnd.apache.parquet",
        key="export_version_download",
    )


if lead:
    with tab_import:
        _import_tab()
    with tab_export:
        _export_tab()
