"""The served dashboards answer unknown paths, path-traversal probes included, with a plain 404.

A real server (``smart-factory dashboard serve`` in a child process on 127.0.0.1) and a real
HTTP client that sends each path exactly as written (``http.client`` does not normalise ``..``).
"""

from __future__ import annotations

import http.client
import re
from pathlib import Path
from urllib.parse import urlsplit

from dashboard_support import dashboard_server

NOT_FOUND = "Not found. The dashboards are at /operations and /pipeline-health.\n"
PROBES = [
    "/../../etc/passwd",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/%2e%2e/",
    "/..%2f..%2fetc%2fpasswd",
    "//etc/passwd",
    "/etc/passwd",
    "/no-such-dashboard",
    "/operations/../../../etc/passwd",
    "/_dash-component-suites/../../etc/passwd",
    "/_dash-component-suites/dash/..%2f..%2f..%2fetc%2fpasswd",
    "/_dash-component-suites/dash/%2e%2e/%2e%2e/pyproject.toml",
    "/_dash-component-suites/dash/dcc/..%5c..%5cetc%5cpasswd.js",
    "/_dash-component-suites/no_such_package/bundle.js",
]


def get(base_url: str, path: str) -> tuple[int, str]:
    address = urlsplit(base_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def test_unknown_paths_get_404_and_the_dashboards_still_load(tmp_path: Path) -> None:
    with dashboard_server(tmp_path) as (url, log):
        answers = {path: get(url, path) for path in PROBES}
        pages = {path: get(url, path) for path in ("/", "/operations", "/pipeline-health/", "/assets/dashboard.css")}
        scripts = re.findall(r'src="(/_dash-component-suites/[^"]+)"', pages["/operations"][1])
        script = get(url, scripts[0])
        missing_asset = get(url, "/assets/../../etc/passwd")

    for path, (status, body) in answers.items():
        assert (status, body) == (404, NOT_FOUND), path
    assert missing_asset[0] == 404 and "root:" not in missing_asset[1]
    assert {path: status for path, (status, _) in pages.items()} == dict.fromkeys(pages, 200)
    assert "Smart Factory dashboards" in pages["/operations"][1]
    assert scripts and script[0] == 200
    # The log has one access line per probe and no error: no traceback, no 500.
    text = "\n".join(log)
    assert "Traceback" not in text and "ERROR" not in text and '" 500 ' not in text, text
    assert sum('" 404 ' in line for line in log) == len(PROBES) + 1
