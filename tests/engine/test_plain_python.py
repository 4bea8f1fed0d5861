"""The engine is plain Python: importing it loads no web framework and no database driver.

``training/`` and the service share the engine, so a training run must not pay for (or depend
on) Flask. Checked in a fresh interpreter, because this test process has Flask loaded already.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

ENGINE_MODULES = ["triage.engine.recommend", "triage.engine.contract", "triage.engine.history",
                  "triage.engine.errors", "training.train", "training.evaluate", "training.generate"]
NEVER_LOADED = ("flask", "flask_sqlalchemy", "flask_smorest", "werkzeug", "sqlalchemy")


@pytest.mark.parametrize("module", ENGINE_MODULES)
def test_importing_it_loads_no_flask_and_no_database(module):
    probe = (f"import sys, {module}\n"
             f"print(','.join(sorted(m for m in {NEVER_LOADED!r} if m in sys.modules)))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""
