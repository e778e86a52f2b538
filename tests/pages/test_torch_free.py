"""The Streamlit process never imports torch: every page renders without it, the
attribution maps included (the worker computes them; the pages only draw them)."""

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
    overlay = None
    if name in ("latent", "patients"):  # the attribution maps drawn over the pictures
        app.toggle(key=f"{name}_overlay").set_value(True).run()
        overlay = any("maps" in c.value for c in app.caption) or any(
            h.value.startswith("What changed") for h in app.subheader
        )
    if name == "compare":
        app.sidebar.radio[1].set_value("Most informative (active)").run()  # the queued view
        app.toggle(key="classic").set_value(True).run()  # and the classic buttons
        app.button(key="answer_left").click().run()
    rendered[name] = {
        "exception": bool(app.exception), "torch": "torch" in sys.modules, "overlay": overlay
    }
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
    assert rendered["latent"]["overlay"] and rendered["patients"]["overlay"], rendered
