"""A server process of the benchmark's, read and changed over HTTP as the site owner."""

import json
import os
import subprocess
import sys
from pathlib import Path

import requests
from plone.app.testing import SITE_OWNER_NAME
from plone.app.testing import SITE_OWNER_PASSWORD


ROOT = Path(__file__).resolve().parent.parent


class ServedProcess:
    """``python -m module *args`` in a process of its own: ready once it prints ``marker``
    followed by a JSON line, stopped by closing its standard input."""

    def __init__(self, module: str, args: list, marker: str) -> None:
        self.module = module
        self.marker = marker
        self.process = subprocess.Popen(
            [sys.executable, "-m", module, *map(str, args)],
            cwd=ROOT,
            env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.http = requests.Session()
        self.http.auth = (SITE_OWNER_NAME, SITE_OWNER_PASSWORD)
        self.http.headers["Accept"] = "application/json"

    def ready(self) -> dict:
        """What the process printed after ``marker`` once it serves."""
        for line in self.process.stdout:
            if line.startswith(self.marker):
                return json.loads(line[len(self.marker) :])
        raise RuntimeError(f"{self.module} ended (exit code {self.process.wait()}) before serving.")

    def stop(self) -> None:
        self.http.close()
        self.process.stdin.close()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()
