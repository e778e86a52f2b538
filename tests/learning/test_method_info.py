import subprocess
import sys

from core.learning.method_info import METHOD_INFO
from core.learning.methods import METHODS
from core.learning.scoring import SPACES


def test_the_catalog_describes_exactly_the_registered_methods():
    assert list(METHOD_INFO) == list(METHODS)
    for name, method in METHODS.items():
        info = METHOD_INFO[name]
        assert tuple(phase for phase, _ in method.phases) == info.phases
        assert (method.score_space, method.needs_preferences) == (
            info.score_space,
            info.needs_preferences,
        )
        assert info.score_space in SPACES  # every method's score is read one known way


def test_what_the_training_page_imports_does_not_load_torch():
    code = (
        "import sys\n"
        "import core.learning.method_info, core.worker.autoretrain, core.worker.status\n"
        "import core.access, core.exports, core.importers, pages.common\n"
        "print('torch' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
