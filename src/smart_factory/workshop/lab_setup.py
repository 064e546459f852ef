"""Make JupyterLab open straight onto a notebook: the kernel registered, nothing to dismiss.

``make install`` runs this (``smart-factory lab-setup``); so should the conda route after
``conda env create -f environment.yml``. It acts on the current environment only:

- registers the ``smart-factory`` kernel (this interpreter), the one every notebook names;
- removes Dash's JupyterLab *source* extension, which Dash installs into the environment's
  app folder: JupyterLab then greets every start with a "Build Recommended" dialog, and the
  workshop draws its charts with Plotly, never with Dash inside JupyterLab;
- turns off JupyterLab's news and update checks (a toast asking to be notified about news),
  which could not reach their server from a workshop room without internet anyway.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from smart_factory.workshop.runner import ensure_kernel

DASH_SOURCE_EXTENSION = "dash-jupyterlab*.tgz"
QUIET_SETTINGS = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}}


def prepare_jupyterlab() -> list[str]:
    """Do the three steps for this environment; say what was done."""
    done = [f"kernel {ensure_kernel()!r} registered"]
    app_dir = Path(sys.prefix) / "share" / "jupyter" / "lab"
    for archive in (app_dir / "extensions").glob(DASH_SOURCE_EXTENSION):
        archive.unlink()
        done.append(f"removed {archive.name} (its build prompt)")
    overrides = app_dir / "settings" / "overrides.json"
    settings = json.loads(overrides.read_text(encoding="utf-8")) if overrides.is_file() else {}
    for plugin, values in QUIET_SETTINGS.items():
        settings.setdefault(plugin, {}).update(values)
    overrides.parent.mkdir(parents=True, exist_ok=True)
    overrides.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    done.append("news and update checks off")
    return done


def main() -> int:
    print("JupyterLab: " + "; ".join(prepare_jupyterlab()) + ".")
    return 0


if __name__ == "__main__":
    sys.exit(main())
