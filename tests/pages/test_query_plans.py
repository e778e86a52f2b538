"""The queries behind the pages opened most (Latent space, Patients, Compare) find their
rows by index, on SQLite and on PostgreSQL: none reads a whole table that holds a row per
image (images, judgments, embeddings, projections, attribution maps, beliefs, trends). Every
statement a page runs is recorded while it renders (and while it is used: a selection,
a search, answers) and ``EXPLAIN QUERY PLAN`` (SQLite) must show no ``SCAN`` of those
tables, under their own names, their aliases or the views over them, and no subquery
run once per row that finds its rows by dataset or version alone (a pass over every
image of the dataset, per row). A study of 100,000 images must not pay one pass over
its images per image shown."""

import re

import pytest

from core.store import Store
from core.store.database import Database
from tests.pages.conftest import page, sign_in

# the tables with a row (or several) per image
BIG_TABLES = {
    "images",
    "judgments",
    "embeddings",
    "projections",
    "attribution_maps",
    "beliefs",
    "trends",
}
TABLE_AND_ALIAS = re.compile(r"\b(?:FROM|JOIN)\s+(\w+)(?:\s+(?:AS\s+)?(\w+))?", re.IGNORECASE)
NOT_ALIASES = {"on", "where", "join", "left", "inner", "cross", "group", "order", "limit", "using"}
CHECKED = ("SELECT", "WITH", "UPDATE", "DELETE")
# columns that select many rows each: a per-row subquery constrained by these alone reads
# a whole dataset (or a whole version's rows) for every row
BROAD_COLUMNS = {"dataset_id", "model_id", "method", "dims", "grade", "split"}


@pytest.fixture
def recorded(monkeypatch):
    """Every statement the store runs, with its parameters, while the test lasts."""
    statements: list[tuple[str, tuple]] = []
    query, execute = Database._query, Database.execute

    def recording_query(self, sql, params):
        statements.append((sql, tuple(params or ())))
        return query(self, sql, params)

    def recording_execute(self, sql, params=None):
        statements.append((sql, tuple(params or ())))
        return execute(self, sql, params)

    monkeypatch.setattr(Database, "_query", recording_query)
    monkeypatch.setattr(Database, "execute", recording_execute)
    return statements


def big_names(sql: str, store: Store) -> set[str]:
    """The names (tables, aliases) under which ``sql`` reads a big table, including
    through a view (whose own aliases show in the plan)."""
    views = {
        r["name"]: r["sql"]
        for r in store.all("SELECT name, sql FROM sqlite_master WHERE type = 'view'")
    }
    names: set[str] = set()
    texts, seen = [sql], set()
    while texts:
        text = texts.pop()
        for table, alias in TABLE_AND_ALIAS.findall(text):
            if table in views and table not in seen:
                seen.add(table)
                texts.append(views[table])
            big = table in BIG_TABLES or table in views
            if big:
                names.add(table)
                if alias and alias.lower() not in NOT_ALIASES:
                    names.add(alias)
    return names


def full_scans(statements: list[tuple[str, tuple]], db) -> list[str]:
    problems = []
    with Store(db) as store:
        for sql, params in dict.fromkeys(statements):  # each statement once
            if not sql.lstrip().upper().startswith(CHECKED):
                continue
            plan = store.db.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
            names = big_names(sql, store)
            problems += [
                f"{detail}  <-  {' '.join(sql.split())[:300]}" for detail in wasteful(plan, names)
            ]
    return problems


def wasteful(plan: list, names: set[str]) -> list[str]:
    """The plan's steps that read a big table whole: a scan, or a search by broad
    columns alone inside a subquery that runs once per row (``CORRELATED``)."""
    parents = {row[0]: (row[1], row[-1]) for row in plan}

    def per_row(step_id: int) -> bool:
        parent = parents[step_id][0]
        while parent in parents:
            if parents[parent][1].startswith("CORRELATED"):
                return True
            parent = parents[parent][0]
        return False

    found = []
    for step_id, _, *_, detail in plan:
        words = detail.split()
        if len(words) < 2 or words[0] not in ("SCAN", "SEARCH") or words[1] not in names:
            continue
        constrained = set(re.findall(r"(\w+)[=<>]", detail.partition("(")[2]))
        if words[0] == "SCAN" or (per_row(step_id) and constrained <= BROAD_COLUMNS):
            found.append(detail)
    return found


def use_latent(db) -> None:
    """The Latent space page opened, a box drawn, coloured by judgments, maps shown."""
    from tests.pages.test_latent_page import box_around, map_sent, select

    xs, ys, _ = box_around(db, 6)
    app = page("latent").run()
    select(app, map_sent(app)[0]["map"], xs, ys)
    app.run()
    assert "Selection: 6 images" in app.subheader[0].value
    app.selectbox[2].set_value("Number of judgments").run()
    app.toggle(key="latent_overlay").set_value(True).run()
    assert not app.exception


def use_patients(db) -> None:
    app = page("patients").run()
    app.text_input(key="patient_search").input("P-").run()
    app.toggle(key="patients_overlay").set_value(True).run()
    assert not app.exception


def use_compare(db) -> None:
    app = page("compare")
    app.session_state["classic"] = True  # the answer buttons (the judging view's fallback)
    app = sign_in(app)
    for outcome in ("left", "right", "equal"):
        app.button(key=f"answer_{outcome}").click().run()
    app.button(key="undo").click().run()
    assert not app.exception


PAGES_USED = {"latent": use_latent, "patients": use_patients, "compare": use_compare}


def test_the_latent_space_page_reads_by_index(modelled_db, recorded):
    use_latent(modelled_db)
    read = " ".join(sql for sql, _ in recorded)
    assert "projections" in read and "attribution_maps" in read  # the map and its overlay
    assert full_scans(recorded, modelled_db) == []


def test_the_patients_page_reads_by_index(modelled_db, recorded):
    use_patients(modelled_db)
    assert "trends" in " ".join(sql for sql, _ in recorded)
    assert full_scans(recorded, modelled_db) == []


def test_the_compare_page_reads_by_index(modelled_db, recorded):
    use_compare(modelled_db)
    assert recorded
    assert full_scans(recorded, modelled_db) == []


# --- the same pages on PostgreSQL ---------------------------------------------------------


@pytest.fixture
def modelled_postgres(modelled_db, postgres_cluster, monkeypatch):
    """The modelled study copied to a new PostgreSQL database; the pages open it."""
    from core.store.copy import copy_database
    from core.store.database import dispose

    url = postgres_cluster.create_database()
    media = modelled_db.parent / "media"
    with Store(modelled_db) as source, Store(url, media_root=media) as target:
        copy_database(source, target)
    monkeypatch.setenv("SEVERITY_DB", url)
    monkeypatch.setenv("SEVERITY_MEDIA", str(media))
    yield url
    dispose(url)


def postgres_whole_reads(statements: list[tuple[str, tuple]], url: str) -> list[str]:
    """The big tables PostgreSQL would read whole for these statements even with
    sequential scans and merge and hash joins priced out. On a test-sized table the
    planner rightly prefers to read a table whole, so this asks whether an index can
    serve each statement at all: where none can, the plan still says ``Seq Scan``.
    Whether an index is probed or walked end to end is the planner's choice from the
    table's statistics, which a test-sized study does not have; the SQLite check above
    judges that."""
    problems = []
    with Store(url) as store, store.transaction():
        for method in ("seqscan", "mergejoin", "hashjoin"):
            store.db.execute(f"SET LOCAL enable_{method} = off")
        for sql, params in dict.fromkeys(statements):
            if not sql.lstrip().upper().startswith(CHECKED):
                continue
            plan = [next(iter(r.values())) for r in store.all(f"EXPLAIN {sql}", params)]
            problems += [
                f"{step.strip()}  <-  {' '.join(sql.split())[:300]}"
                for step in plan
                if (scan := re.search(r"Seq Scan on (\w+)", step)) and scan[1] in BIG_TABLES
            ]
    return problems


@pytest.mark.parametrize("name", sorted(PAGES_USED))
def test_the_pages_read_by_index_on_postgresql(name, modelled_postgres, recorded):
    PAGES_USED[name](modelled_postgres)
    checked = [s for s in recorded if s[0].lstrip().upper().startswith(CHECKED)]
    assert len(checked) > 5
    assert postgres_whole_reads(recorded, modelled_postgres) == []


def test_the_postgresql_check_sees_a_missing_index(modelled_postgres, recorded):
    """The check itself: with no index that holds the right-hand image, a count of
    answers on either side can only read judgments whole."""
    with Store(modelled_postgres) as store:
        for index in store.all(
            "SELECT indexname FROM pg_indexes WHERE tablename = ? AND indexdef LIKE ?",
            ["judgments", "%right_image_id%"],
        ):
            store.db.execute(f"DROP INDEX {index['indexname']}")
        store.all(
            "SELECT COUNT(*) AS n FROM judgments j "
            "WHERE j.left_image_id = ? OR j.right_image_id = ?",
            [1, 1],
        )
    problems = postgres_whole_reads(recorded, modelled_postgres)
    assert any("Seq Scan on judgments" in p for p in problems)


def test_the_check_sees_a_full_scan(file_store, recorded):
    """The check itself: a count of answers on either side without an index on the
    right-hand one is a scan of judgments."""
    file_store.db.execute("DROP INDEX judgments_right")
    file_store.all(
        "SELECT COUNT(*) AS n FROM effective_judgments j "
        "WHERE j.left_image_id = ? OR j.right_image_id = ?",
        [1, 1],
    )
    assert any("SCAN j" in problem for problem in full_scans(recorded, file_store.path))


def test_the_check_sees_a_per_row_pass_over_a_dataset(file_store, recorded):
    """A patient's first visit found by the dataset's index: SQLite's choice for this
    query, which reads every image of the dataset for each patient listed."""
    file_store.all(
        "SELECT p.id, (SELECT MIN(i.visit_date) FROM images i "
        "WHERE i.patient_id = p.id AND i.dataset_id = ?) AS first FROM patients p",
        [1],
    )
    problems = full_scans(recorded, file_store.path)
    assert any("images_dataset (dataset_id=?)" in problem for problem in problems)
