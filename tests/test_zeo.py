"""Scale-out: buildout-zeo.cfg builds a real ZEO server and two clients; simultaneous
do_auto_sync calls on both clients start exactly one job."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from pathlib import Path

import requests
from plone.testing import Layer


REPO = Path(__file__).resolve().parent.parent
BUILDOUT = Path(sys.executable).parent / "buildout"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not come up")


class ZeoCluster(Layer):
    """A ZEO server and two Zope clients built by buildout-zeo.cfg in a temporary directory."""

    def setUp(self):
        self.dir = Path(tempfile.mkdtemp(prefix="sync-zeo-"))
        self.processes = []
        zeo_port, self["port1"], self["port2"] = free_port(), free_port(), free_port()
        build = subprocess.run(
            [
                str(BUILDOUT),
                "-N",
                "-c",
                str(REPO / "buildout-zeo.cfg"),
                f"buildout:directory={self.dir}",
                f"buildout:develop={REPO}",
                f"zeoserver:zeo-address=127.0.0.1:{zeo_port}",
                f"client1:http-address=127.0.0.1:{self['port1']}",
                f"client2:http-address=127.0.0.1:{self['port2']}",
            ],
            cwd=self.dir,
            capture_output=True,
            text=True,
        )
        if build.returncode:
            raise AssertionError(build.stdout + build.stderr)
        self.start("zeoserver", "fg")
        site = self.run_script("client1", "make_site.py")
        if "SITE READY" not in site.stdout:
            self.tearDown()
            raise AssertionError(site.stdout + site.stderr)
        self.start("client1", "fg")
        self.start("client2", "fg")
        for port in (self["port1"], self["port2"]):
            wait_http(f"http://127.0.0.1:{port}/")
        self["cluster"] = self

    def start(self, script, *args):
        # A session of its own: ``bin/clientN fg`` runs Zope in a child process, and
        # stopping must reach it too.
        self.processes.append(
            subprocess.Popen(
                [str(self.dir / "bin" / script), *args],
                start_new_session=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )

    def run_script(self, client, script):
        """``bin/<client> run`` a script of tests/zeo/ (a ZEO client may do so while the others run)."""
        return subprocess.run(
            [str(self.dir / "bin" / client), "run", str(REPO / "tests" / "zeo" / script)],
            capture_output=True,
            text=True,
            timeout=300,
        )

    def tearDown(self):
        for process in reversed(self.processes):
            os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        shutil.rmtree(self.dir, ignore_errors=True)


ZEO_CLUSTER = ZeoCluster(name="ZeoCluster")


class TestZeoCluster(unittest.TestCase):
    layer = ZEO_CLUSTER

    def test_simultaneous_hook_calls_on_both_clients_start_one_job(self):
        barrier = threading.Barrier(4)
        answers = []

        def call(port):
            barrier.wait()
            answer = requests.get(f"http://127.0.0.1:{port}/Plone/do_auto_sync", auth=("admin", "admin"), timeout=60)
            answers.append((port, answer.status_code, answer.text))

        threads = [
            threading.Thread(target=call, args=(port,)) for port in (self.layer["port1"], self.layer["port2"]) * 2
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual([status for _, status, _ in answers], [200] * 4, answers)
        started = [text for _, _, text in answers if text.startswith("lab: started")]
        self.assertEqual(len(started), 1, answers)
        counted = self.layer["cluster"].run_script("client2", "count_jobs.py")
        self.assertIn("JOBS 1", counted.stdout, counted.stdout + counted.stderr)
