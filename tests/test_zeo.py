"""Scale-out: buildout-zeo.cfg builds a real ZEO server and two clients; simultaneous
do_auto_sync calls on both clients start exactly one job; a client killed mid-job recovers
its job at once when it starts again, while the other client never takes it over."""

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

from tests.hostile_peer import HostilePeer


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
        self.by_script = {}
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
        process = subprocess.Popen(
            [str(self.dir / "bin" / script), *args],
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.processes.append(process)
        self.by_script[script] = process

    def kill(self, script):
        """``kill -9`` a client: no shutdown, no commit, nothing cleaned up."""
        process = self.by_script[script]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        self.processes.remove(process)

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


class TestCrashRecovery(unittest.TestCase):
    layer = ZEO_CLUSTER

    def call(self, port, method, path, **kwargs):
        url = f"http://127.0.0.1:{port}/Plone/{path}"
        headers = {"Accept": "application/json"}
        return requests.request(method, url, auth=("admin", "admin"), headers=headers, timeout=60, **kwargs)

    def wait(self, predicate, timeout=60):
        deadline = time.time() + timeout
        while not (value := predicate()):
            self.assertLess(time.time(), deadline, "timed out waiting")
            time.sleep(0.3)
        return value

    def test_a_killed_client_recovers_its_job_at_once_on_restart(self):
        cluster, port1, port2 = self.layer["cluster"], self.layer["port1"], self.layer["port2"]
        with HostilePeer(hang_seconds=600) as peer:
            peer.set_case("hang-listing")
            peer.model.serves_sync_read = False  # a stock peer whose listing never answers
            created = self.call(port1, "POST", "@sync-remotes", json={"name": "slow", "url": peer.url})
            self.assertEqual(created.status_code, 201, created.text)
            started = self.call(port1, "POST", "@sync-remotes/slow/@fetch")
            self.assertEqual(started.status_code, 202, started.text)
            job_id = started.json()["id"]
            self.wait(lambda: peer.requests_to("listing"))  # the job is in its long read

            cluster.kill("client1")
            # The other client does not take over a job whose heartbeat is fresh.
            self.assertEqual(self.call(port2, "GET", f"@sync-jobs/{job_id}").json()["state"], "running")
            self.assertEqual(self.call(port2, "POST", "@sync-remotes/slow/@fetch").status_code, 409)

            cluster.start("client1", "fg")
            wait_http(f"http://127.0.0.1:{port1}/")
            old = self.call(port2, "GET", f"@sync-jobs/{job_id}").json()
            self.assertEqual(old["state"], "interrupted", old)  # at once, not when the heartbeat expires
            new_id = old["message"].rpartition("Resumed as job ")[2].rstrip(".")
            new = self.call(port2, "GET", f"@sync-jobs/{new_id}").json()
            self.assertEqual((new["step"], new["trigger"]), ("fetch", "resume"), new)
            self.assertIn(new["state"], ("queued", "running"), new)
            self.wait(lambda: len(peer.requests_to("listing")) > 1)  # the resumed job reads again
