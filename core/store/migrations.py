"""Numbered schema migrations, each written for SQLite and for PostgreSQL. Each runs in
a single transaction and bumps the schema version (``PRAGMA user_version`` on SQLite, the
``schema_version`` table on PostgreSQL); never edit a migration that has shipped, add a
new one.

The SQLite scripts are the ones that shipped; the PostgreSQL scripts build the same
schema with that engine's words: identity keys, ``DOUBLE PRECISION`` for SQLite's 8-byte
``REAL``, ``BYTEA`` for ``BLOB``, and triggers as PL/pgSQL functions."""

from __future__ import annotations

from dataclasses import dataclass

from .migrations_pg import POSTGRESQL


@dataclass(frozen=True)
class Migration:
    number: int
    name: str
    sqlite: str
    postgresql: str


_SQLITE: list[tuple[int, str, str]] = [
    (
        1,
        "initial schema",
        """
        CREATE TABLE datasets (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            description TEXT,
            source TEXT,
            created_at TEXT NOT NULL
        );

        -- Pseudonymous only: ``pseudonym`` is a salted hash, never a real identifier.
        CREATE TABLE patients (
            id INTEGER PRIMARY KEY,
            pseudonym TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL
        );

        CREATE TABLE images (
            id INTEGER PRIMARY KEY,
            dataset_id INTEGER NOT NULL REFERENCES datasets(id),
            patient_id INTEGER REFERENCES patients(id),
            visit_date TEXT,
            visit_index INTEGER,
            laterality TEXT CHECK (laterality IN ('L', 'R', 'B')),
            view TEXT,
            grade INTEGER CHECK (grade >= 0),
            health_score REAL,
            split TEXT NOT NULL CHECK (split IN ('train', 'val', 'test')),
            content_hash TEXT NOT NULL UNIQUE,
            pixel_path TEXT NOT NULL,
            width INTEGER NOT NULL CHECK (width > 0),
            height INTEGER NOT NULL CHECK (height > 0),
            source TEXT,
            quality_flags TEXT NOT NULL DEFAULT '[]',
            metadata TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL
        );
        CREATE INDEX images_dataset ON images(dataset_id, grade);
        CREATE INDEX images_patient ON images(patient_id, visit_index, visit_date);

        -- The split is frozen once assigned: validation sets never reshuffle.
        CREATE TRIGGER images_split_frozen BEFORE UPDATE OF split ON images
        WHEN OLD.split IS NOT NEW.split
        BEGIN SELECT RAISE(ABORT, 'an image''s split is frozen once assigned'); END;

        CREATE TABLE raters (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE COLLATE NOCASE,
            created_at TEXT NOT NULL
        );

        -- Append-only. An undo or a correction is a new row that ``supersedes`` an old one.
        CREATE TABLE judgments (
            id INTEGER PRIMARY KEY,
            left_image_id INTEGER NOT NULL REFERENCES images(id),
            right_image_id INTEGER NOT NULL REFERENCES images(id),
            outcome TEXT NOT NULL CHECK (outcome IN ('left', 'right', 'equal', 'skip', 'undone')),
            rater_id INTEGER NOT NULL REFERENCES raters(id),
            created_at TEXT NOT NULL,
            response_ms INTEGER CHECK (response_ms >= 0),
            strategy TEXT,
            comment TEXT,
            supersedes INTEGER UNIQUE REFERENCES judgments(id),
            request_token TEXT UNIQUE,
            CHECK (left_image_id <> right_image_id)
        );
        CREATE INDEX judgments_rater ON judgments(rater_id, created_at);
        CREATE INDEX judgments_pair ON judgments(left_image_id, right_image_id);
        CREATE TRIGGER judgments_no_update BEFORE UPDATE ON judgments
        BEGIN SELECT RAISE(ABORT, 'judgments are append-only: supersede instead of updating'); END;
        CREATE TRIGGER judgments_no_delete BEFORE DELETE ON judgments
        BEGIN SELECT RAISE(ABORT, 'judgments are append-only: they are never deleted'); END;

        -- Standing answers: not superseded by any later row, and an actual comparison.
        CREATE VIEW effective_judgments AS
        SELECT j.* FROM judgments j
        WHERE j.outcome IN ('left', 'right', 'equal')
          AND NOT EXISTS (SELECT 1 FROM judgments s WHERE s.supersedes = j.id);

        CREATE TABLE models (
            id INTEGER PRIMARY KEY,
            version INTEGER NOT NULL UNIQUE,
            method TEXT NOT NULL,
            config TEXT NOT NULL DEFAULT '{}',
            metrics TEXT NOT NULL DEFAULT '{}',
            checkpoint_path TEXT,
            status TEXT NOT NULL CHECK (status IN ('training', 'candidate', 'active', 'retired', 'failed')),
            active INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1)),
            created_at TEXT NOT NULL,
            trained_through_judgment_id INTEGER NOT NULL DEFAULT 0
        );
        CREATE UNIQUE INDEX models_one_active ON models(active) WHERE active = 1;

        CREATE TABLE embeddings (
            model_id INTEGER NOT NULL REFERENCES models(id),
            image_id INTEGER NOT NULL REFERENCES images(id),
            vector BLOB NOT NULL,
            severity REAL NOT NULL,
            severity_std REAL,
            PRIMARY KEY (model_id, image_id)
        );

        CREATE TABLE projections (
            model_id INTEGER NOT NULL REFERENCES models(id),
            method TEXT NOT NULL CHECK (method IN ('umap', 'tsne', 'pca')),
            dims INTEGER NOT NULL CHECK (dims IN (2, 3)),
            image_id INTEGER NOT NULL REFERENCES images(id),
            x REAL NOT NULL,
            y REAL NOT NULL,
            z REAL,
            PRIMARY KEY (model_id, method, dims, image_id)
        );

        CREATE TABLE jobs (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('train', 'embed', 'project', 'import')),
            params TEXT NOT NULL DEFAULT '{}',
            status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
            progress REAL NOT NULL DEFAULT 0,
            phase TEXT,
            message TEXT,
            heartbeat_at TEXT,
            created_at TEXT NOT NULL,
            started_at TEXT,
            finished_at TEXT,
            error TEXT,
            worker_id TEXT,
            cancel_requested INTEGER NOT NULL DEFAULT 0,
            trigger_key TEXT UNIQUE,
            attempts INTEGER NOT NULL DEFAULT 0,
            result TEXT
        );
        CREATE INDEX jobs_status ON jobs(status, id);

        CREATE TABLE settings (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        """,
    ),
    (
        2,
        "model provenance and trend calls",
        """
        -- The job that trains a version: lets crash recovery fail versions orphaned by a killed worker.
        ALTER TABLE models ADD COLUMN job_id INTEGER REFERENCES jobs(id);

        -- Per model: the trend call between two visits of one patient (earlier -> later).
        CREATE TABLE trends (
            model_id INTEGER NOT NULL REFERENCES models(id),
            earlier_image_id INTEGER NOT NULL REFERENCES images(id),
            later_image_id INTEGER NOT NULL REFERENCES images(id),
            p_improved REAL NOT NULL,
            p_same REAL NOT NULL,
            p_deteriorated REAL NOT NULL,
            PRIMARY KEY (model_id, earlier_image_id, later_image_id)
        );
        """,
    ),
    (
        3,
        "the state of each version's embed-and-project chain, and job retries",
        """
        -- A version is only usable once its chain (train, embed, project) has finished:
        -- 'pending' until then, 'ready' after, 'failed' with the reason in ``error``.
        ALTER TABLE models ADD COLUMN chain TEXT NOT NULL DEFAULT 'pending'
            CHECK (chain IN ('pending', 'ready', 'failed'));
        ALTER TABLE models ADD COLUMN error TEXT;
        ALTER TABLE jobs ADD COLUMN retry_of INTEGER REFERENCES jobs(id);

        UPDATE models SET chain = 'ready'
        WHERE EXISTS (SELECT 1 FROM projections p WHERE p.model_id = models.id);
        -- versions whose embed or project job already failed say so, with that job's error
        UPDATE models SET chain = 'failed', error = (
            SELECT j.kind || ' job ' || j.id || ' failed: ' || COALESCE(j.error, 'no reason recorded')
            FROM jobs j
            WHERE j.kind IN ('embed', 'project') AND j.status = 'failed'
              AND json_extract(j.params, '$.model_id') = models.id
            ORDER BY j.id DESC LIMIT 1)
        WHERE chain = 'pending' AND EXISTS (
            SELECT 1 FROM jobs j
            WHERE j.kind IN ('embed', 'project') AND j.status = 'failed'
              AND json_extract(j.params, '$.model_id') = models.id);
        """,
    ),
    (
        4,
        "append-only judgments without the INSERT OR REPLACE gap",
        """
        -- REPLACE deletes the row it clashes with before inserting, and delete triggers do
        -- not fire for it; refuse any insert that would clash, so nothing can be replaced.
        CREATE TRIGGER judgments_no_replace BEFORE INSERT ON judgments
        WHEN (NEW.id IS NOT NULL AND EXISTS (SELECT 1 FROM judgments WHERE id = NEW.id))
          OR (NEW.request_token IS NOT NULL
              AND EXISTS (SELECT 1 FROM judgments WHERE request_token = NEW.request_token))
          OR (NEW.supersedes IS NOT NULL
              AND EXISTS (SELECT 1 FROM judgments WHERE supersedes = NEW.supersedes))
        BEGIN SELECT RAISE(ABORT, 'judgments are append-only: this row would replace an existing one'); END;
        """,
    ),
    (
        5,
        "rater roles: study leads (admins) and raters",
        """
        -- Without configured admins, the first rater of a database is its study lead.
        ALTER TABLE raters ADD COLUMN role TEXT NOT NULL DEFAULT 'rater'
            CHECK (role IN ('rater', 'admin'));
        UPDATE raters SET role = 'admin' WHERE id = (SELECT MIN(id) FROM raters);
        """,
    ),
    (
        6,
        "images.health_score is named for what it holds: known_severity",
        """
        -- The column rises with severity (the synthetic cohort's rendered severity, a
        -- manifest's score column); "health" read as its opposite.
        ALTER TABLE images RENAME COLUMN health_score TO known_severity;
        """,
    ),
    (
        7,
        "one active version per dataset: a model serves the dataset it was trained on",
        """
        -- NULL: trained on every dataset at once (wave 1's single model), which serves any
        -- dataset that has no active version of its own.
        ALTER TABLE models ADD COLUMN dataset_id INTEGER REFERENCES datasets(id);
        UPDATE models SET dataset_id = (
            SELECT d.id FROM datasets d WHERE d.name = json_extract(models.config, '$.dataset'));
        DROP INDEX models_one_active;
        CREATE UNIQUE INDEX models_one_active ON models(COALESCE(dataset_id, 0))
            WHERE active = 1;
        """,
    ),
    (
        8,
        "beliefs over each image's severity for active pair selection; pairs on screen",
        """
        -- Gaussian belief (mean, SD) over an image's severity, from the prior of the model
        -- version ``model_id`` (NULL: no model) and the answers up to ``through_judgment_id``.
        -- Derived data: rebuilt from the judgments whenever a new version becomes active.
        CREATE TABLE beliefs (
            image_id INTEGER PRIMARY KEY REFERENCES images(id),
            dataset_id INTEGER NOT NULL REFERENCES datasets(id),
            model_id INTEGER REFERENCES models(id),
            mu REAL NOT NULL,
            sigma REAL NOT NULL,
            views INTEGER NOT NULL DEFAULT 0,
            through_judgment_id INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX beliefs_dataset ON beliefs(dataset_id);

        -- The pair each rater has on screen now, so that no other rater is served it.
        CREATE TABLE on_screen (
            rater_id INTEGER PRIMARY KEY REFERENCES raters(id),
            low_image_id INTEGER NOT NULL REFERENCES images(id),
            high_image_id INTEGER NOT NULL REFERENCES images(id),
            shown_at TEXT NOT NULL
        );
        """,
    ),
    (
        9,
        "repeat pairs for a rater's self-consistency",
        """
        -- A repeat re-shows a pair this rater answered earlier (sides swapped) without
        -- saying so; it points at the answer it repeats. It stands beside that answer.
        ALTER TABLE judgments ADD COLUMN repeat_of INTEGER REFERENCES judgments(id);
        CREATE INDEX judgments_repeat ON judgments(repeat_of) WHERE repeat_of IS NOT NULL;
        """,
    ),
    (
        10,
        "training loss curves; when each version was activated",
        """
        CREATE TABLE job_losses (
            job_id INTEGER NOT NULL REFERENCES jobs(id),
            phase TEXT NOT NULL,
            step INTEGER NOT NULL,
            loss REAL NOT NULL,
            PRIMARY KEY (job_id, phase, step)
        );
        -- Every activation (roll forward or back), so that the Training page can show them.
        CREATE TABLE model_activations (
            id INTEGER PRIMARY KEY,
            model_id INTEGER NOT NULL REFERENCES models(id),
            activated_at TEXT NOT NULL
        );
        """,
    ),
    (
        11,
        "one definition of a standing answer; loss points keep their order",
        """
        -- Standing: not superseded by a later row, and not itself an undo (skips stand).
        CREATE VIEW standing_judgments AS
        SELECT j.* FROM judgments j
        WHERE j.outcome != 'undone'
          AND NOT EXISTS (SELECT 1 FROM judgments s WHERE s.supersedes = j.id);

        -- The order points were written in (PostgreSQL has no rowid).
        ALTER TABLE job_losses ADD COLUMN seq INTEGER;
        UPDATE job_losses SET seq = rowid;
        """,
    ),
    (
        12,
        "warm-started retrains: each version's kind and parent",
        """
        -- scratch: trained from random weights; warm: continued from its parent version
        ALTER TABLE models ADD COLUMN kind TEXT NOT NULL DEFAULT 'scratch'
            CHECK (kind IN ('scratch', 'warm'));
        ALTER TABLE models ADD COLUMN parent_id INTEGER REFERENCES models(id);
        """,
    ),
    (
        13,
        "attribution maps: what drives each image's severity score, per version",
        """
        -- A version's heat map per image (Integrated Gradients of its severity score,
        -- core.learning.attribution): uint8 row-major, height x width, a pixel's value in
        -- score units being heat * peak / 255. Removed with its version (ON DELETE CASCADE).
        CREATE TABLE attribution_maps (
            model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
            image_id INTEGER NOT NULL REFERENCES images(id),
            height INTEGER NOT NULL CHECK (height > 0),
            width INTEGER NOT NULL CHECK (width > 0),
            peak REAL NOT NULL CHECK (peak >= 0),
            heat BLOB NOT NULL,
            PRIMARY KEY (model_id, image_id)
        );

        -- The worker computes them as a job of a new kind. SQLite cannot change a CHECK in
        -- place: the jobs table is rebuilt, its rows kept with their ids. Foreign keys are
        -- checked at commit, once the rows the versions and loss points name are back.
        PRAGMA defer_foreign_keys = ON;
        CREATE TABLE jobs_before_13 AS SELECT * FROM jobs;
        DROP TABLE jobs;
        CREATE TABLE jobs (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL
                CHECK (kind IN ('train', 'embed', 'project', 'import', 'attribute')),
            params TEXT NOT NULL DEFAULT '{}',
            status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
            progress REAL NOT NULL DEFAULT 0,
            phase TEXT,
            message TEXT,
            heartbeat_at TEXT,
            created_at TEXT NOT NULL,
            started_at TEXT,
            finished_at TEXT,
            error TEXT,
            worker_id TEXT,
            cancel_requested INTEGER NOT NULL DEFAULT 0,
            trigger_key TEXT UNIQUE,
            attempts INTEGER NOT NULL DEFAULT 0,
            result TEXT,
            retry_of INTEGER REFERENCES jobs(id)
        );
        INSERT INTO jobs (id, kind, params, status, progress, phase, message, heartbeat_at,
                          created_at, started_at, finished_at, error, worker_id,
                          cancel_requested, trigger_key, attempts, result, retry_of)
        SELECT id, kind, params, status, progress, phase, message, heartbeat_at, created_at,
               started_at, finished_at, error, worker_id, cancel_requested, trigger_key,
               attempts, result, retry_of
        FROM jobs_before_13 ORDER BY id;
        DROP TABLE jobs_before_13;
        CREATE INDEX jobs_status ON jobs(status, id);
        """,
    ),
    (
        14,
        "each answer records the blinding it was given under",
        """
        -- What the rater could see under each image (core.store.blinding: none_shown,
        -- dates, dates_and_grades), as the study lead had set it when the pair was
        -- served. NULL: not recorded (answers stored before this column, and undo rows).
        ALTER TABLE judgments ADD COLUMN blinding TEXT
            CHECK (blinding IN ('none_shown', 'dates', 'dates_and_grades'));
        """,
    ),
    (
        15,
        "answers found by either image",
        """
        -- The Latent space page counts each image's answers, on the left or the right:
        -- judgments_pair finds the left side only, and without this index every image
        -- read every answer (100,000 images x the study's answers).
        CREATE INDEX judgments_right ON judgments(right_image_id);
        """,
    ),
]


MIGRATIONS: list[Migration] = [
    Migration(number, name, sql, POSTGRESQL[number]) for number, name, sql in _SQLITE
]
