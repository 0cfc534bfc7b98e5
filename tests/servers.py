"""Small real servers the tests point remotes at: a non-Plone HTTP site and a self-signed HTTPS site."""

import datetime
import http.client
import ipaddress
import json
import socket
import ssl
import tempfile
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


class HtmlPage(BaseHTTPRequestHandler):
    """Answers every request with a plain HTML page: reachable, but not Plone."""

    def _answer(self):
        body = b"<html><body>Not a Plone site</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for localhost/127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@contextmanager
def html_server(tls: bool = False):
    """Serve HtmlPage on localhost; yields (base URL, CA file path or None)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), HtmlPage)
    ca_file = None
    if tls:
        ca_file, key_file = self_signed_certificate(Path(tempfile.mkdtemp()))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(ca_file, key_file)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        scheme = "https" if tls else "http"
        yield f"{scheme}://localhost:{server.server_address[1]}", ca_file
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FaultProxy(BaseHTTPRequestHandler):
    """Forwards to a real server, but answers badly for requests whose URL contains a chosen text.

    ``faults`` maps a text (e.g. a UID) to "500", "garbage", "timeout", "truncate" (the real
    answer with only the first half of its ``items``), "halve" (the first half of the real
    body, sent as if it were all of it) or "redirect:<url>" (a 302 there). The Host header is
    passed on, so the peer builds its URLs with the proxy's address.
    """

    target: tuple[str, int]
    faults: dict[str, str]
    hang_seconds = 1.5

    def _forward(self):
        fault = next((kind for text, kind in self.faults.items() if text in self.path), None)
        if fault == "500":
            return self._reply(500, b"Internal Server Error", "text/plain")
        if fault == "garbage":
            return self._reply(200, b"<html>this is not JSON", "application/json")
        if fault == "timeout":
            time.sleep(self.hang_seconds)
            return self._reply(504, b"", "text/plain")
        if fault and fault.startswith("redirect:"):
            self.send_response(302)
            self.send_header("Location", fault.partition(":")[2])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        connection = http.client.HTTPConnection(*self.target, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}
        connection.request(self.command, self.path, body=body, headers=headers)
        answer = connection.getresponse()
        data = answer.read()
        if fault == "truncate":
            page = json.loads(data)
            page["items"] = page["items"][: len(page["items"]) // 2]
            data = json.dumps(page).encode()
        if fault == "halve":
            data = data[: len(data) // 2]
        self.send_response(answer.status)
        for key, value in answer.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        connection.close()

    def _reply(self, status, body, content_type):
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting: that is the point of a timeout

    do_GET = do_POST = do_PATCH = do_DELETE = _forward

    def log_message(self, *args):
        pass


@contextmanager
def fault_proxy(target_host: str, target_port: int, faults: dict[str, str]):
    """Serve a FaultProxy in front of target; yields its base URL. ``faults`` may be changed while it runs."""
    handler = type("Proxy", (FaultProxy,), {"target": (target_host, target_port), "faults": faults})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = False  # server_close() waits for a hanging answer to finish
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
