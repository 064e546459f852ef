"""JupyterLab, as a learner opens it: each notebook on screen, its kernel chosen, nothing to dismiss.

A real JupyterLab server on 127.0.0.1 (this environment's, as ``make lab`` starts it) and
Debian's headless Chromium. ``make install`` ran ``smart_factory.workshop.lab_setup``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from smart_factory.workshop.runner import KERNEL_DISPLAY_NAME, series_notebooks

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
# Anything JupyterLab puts in front of the notebook: a dialog (the build prompt) or a toast (news).
INTERRUPTIONS = ".jp-Dialog, .Toastify__toast, .jp-toast-message"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("lab-home")
    port, token = _free_port(), uuid.uuid4().hex
    # A learner's own settings and workspaces start empty, as on a fresh machine.
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"), "JUPYTER_CONFIG_DIR": str(home / "config")}
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", f"--port={port}",
               "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={NOTEBOOKS}"]  # fmt: skip
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("JupyterLab did not start within 60 s")
                time.sleep(0.5)
        # A workspace of its own for each notebook: only that notebook is open in it.
        yield f"{url}/lab/workspaces/{{workspace}}/tree/{{notebook}}?reset&token={token}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_environment_has_nothing_that_interrupts_a_learner() -> None:
    app_dir = Path(sys.prefix) / "share" / "jupyter" / "lab"
    assert not list((app_dir / "extensions").glob("dash-jupyterlab*")), "Dash's source extension asks for a build"
    assert '"fetchNews": "false"' in (app_dir / "settings" / "overrides.json").read_text()


@pytest.mark.slow
def test_each_notebook_opens_with_its_kernel_and_nothing_to_dismiss(chromium: tuple[str, str], jupyterlab: str) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location, driver = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000",
                     "--disable-background-networking", "--disable-component-update", "--no-first-run"):  # fmt: skip
        options.add_argument(argument)
    browser = webdriver.Chrome(service=Service(driver), options=options)
    try:
        for notebook in series_notebooks(NOTEBOOKS):
            browser.get(jupyterlab.format(workspace=notebook.stem, notebook=notebook.name))
            WebDriverWait(browser, 90).until(
                lambda _: KERNEL_DISPLAY_NAME in browser.execute_script(
                    "const k = document.querySelector('.jp-NotebookPanel .jp-KernelName');"
                    "return k ? k.textContent : ''"
                )
            )  # fmt: skip
            title = browser.find_element(By.CSS_SELECTOR, ".jp-NotebookPanel h1").text
            assert title.split(" ")[0] == notebook.name[1], (notebook.name, title)  # "2 · Bronze…" for 02_…
            time.sleep(3)  # a start-up dialog or toast comes within a moment of the page
            shown = [element.text[:120] for element in browser.find_elements(By.CSS_SELECTOR, INTERRUPTIONS)
                     if element.is_displayed()]  # fmt: skip
            assert not shown, f"{notebook.name}: {shown}"
    finally:
        browser.quit()
