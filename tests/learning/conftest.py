import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom.data
import pytest

from core.demo import import_cohort
from core.importers import import_source
from core.store import Store
from core.synthetic import CohortConfig
from tests.conftest import write_png
from tests.dicom_factory import write_dicom
from tests.helpers import run_worker_until_idle
from tests.worker.conftest import train_params

REAL_DICOM = "CT_small.dcm"  # pydicom's own test file: PatientName CompressedSamples^CT1


@dataclass
class ScoringStudy:
    db: Path
    clinic: Path  # the files of the "clinic" dataset, as they were imported
    version: int  # the one trained version, on every dataset, embedded by the worker


@pytest.fixture(scope="session")
def scoring_study(tmp_path_factory) -> ScoringStudy:
    """The synthetic cohort, one tiny version trained on it by the worker, then a clinic's
    files (two PNGs, a DICOM written here and a real one shipped with pydicom, each named
    after its patient) imported, and the version embedded again by the worker (as after
    an import), so that the app has stored a severity for each. The tests only read it."""
    root = tmp_path_factory.mktemp("scoring")
    clinic = root / "clinic"
    write_png(clinic / "eye_colour.png", seed=1, size=(40, 30))
    write_png(clinic / "nested" / "eye_grey.png", seed=2, size=(30, 36), mode="L")
    ramp = np.add.outer(np.arange(48), np.arange(40)) * 40
    write_dicom(clinic / "Harriet_HOSP-7731942.dcm", ramp)
    shutil.copy(pydicom.data.get_testdata_file(REAL_DICOM), clinic / "1CT1_ct.dcm")
    db = root / "app.db"
    with Store(db) as store:
        import_cohort(store, CohortConfig(patients=16, image_size=32))
        store.jobs.submit("train", train_params())
    run_worker_until_idle(db, kinds=("train", "embed"))  # the maps are not needed here
    with Store(db) as store:
        (model,) = store.models.list()
        assert model["status"] == "candidate", model["error"]
        report = import_source(store, clinic, "clinic")
        assert report.counts()["imported"] == 4, report.to_dict()
        store.jobs.submit("embed", {"model_id": model["id"]})
    run_worker_until_idle(db, kinds=("embed",))
    with Store(db) as store:
        assert len(store.embeddings.severity_scores(model["id"])) == store.images.count()
    return ScoringStudy(db, clinic, model["version"])


@pytest.fixture(scope="session")
def exported(scoring_study, tmp_path_factory) -> dict[str, Path]:
    """The version in both formats, written by the command line: {format: folder}."""
    from core.cli import main

    folders = {}
    for fmt in ("onnx", "torchscript"):
        folders[fmt] = tmp_path_factory.mktemp(fmt)
        argv = ["export-model", "--version", str(scoring_study.version), "--format", fmt]
        assert main([*argv, "--out", str(folders[fmt]), "--db", str(scoring_study.db)]) == 0
    return folders
