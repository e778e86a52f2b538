import numpy as np
import pytest
from PIL import Image

from core.store import Store


@pytest.fixture
def store():
    with Store.memory() as s:
        yield s


@pytest.fixture
def file_store(tmp_path):
    with Store(tmp_path / "app.db") as s:
        yield s


def write_png(path, seed=0, size=(24, 20), mode="RGB"):
    """A small random image, different for each seed."""
    rng = np.random.default_rng(seed)
    shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 255, shape, dtype=np.uint8)).save(path)
    return path


@pytest.fixture
def make_png():
    return write_png
