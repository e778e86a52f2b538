"""The Streamlit process never imports torch: every page renders without it."""

import json
import os
import subprocess
import sys

from core.paths import PROJECT_ROOT

SCRIPT = """
import json, sys
from streamlit.testing.v1 import AppTest
rendered = {}
for name in ("data", "compare", "latent", "patients", "training", "raters"):
    app = AppTest.from_file(f"pages/{name}.py", default_timeout=120)
    app.run()
    if any(box.key == "typed" for box in app.sidebar.text_input):  # pages with sign-in
        app.sidebar.text_input(key="typed").input("Dr Amara")
        app.sidebar.button(key="sign_in").click().run()
    if name == "compare":
        app.sidebar.radio[1].set_value("Most informative (active)").run()
        app.button(key="answer_left").click().run()
    rendered[name] = {"exception": bool(app.exception), "torch": "torch" in sys.modules}
print(json.dumps(rendered))
"""


def test_no_page_imports_torch(modelled_db):
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=PROJECT_ROOT,
        env={**os.environ, "SEVERITY_DB": str(modelled_db), "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    rendered = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(rendered) == {"data", "compare", "latent", "patients", "training", "raters"}
    assert not any(page["exception"] for page in rendered.values()), rendered
    assert not any(page["torch"] for page in rendered.values()), rendered
