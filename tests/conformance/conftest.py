"""Fixtures: one backendai-local-server per test run, and the SDK's environment per test.

The server binary comes from ``BAI_LOCAL_SERVER`` (run.sh sets it) or the workspace's
debug build. It is started on port 0 with a temporary data directory; the single
``listening on`` line it prints gives the endpoint.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from ai.backend.client.config import set_config

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
USER_EMAIL = "user@example.com"
USER_PASSWORD = "example-password"

# The release the server answers as: the one the SDK under test belongs to (run.sh sets it).
RELEASE = os.environ.get("BAI_CONFORMANCE_RELEASE", "23.09")
SDK_VERSION = os.environ.get("BAI_CONFORMANCE_SDK", "23.9.10")


def _expected_failures() -> dict[str, str]:
    """Tests that fail against the real manager of this release too: name -> reason."""
    path = HERE / f"expected_failures_{SDK_VERSION}.txt"
    out = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                name, _, reason = line.partition("|")
                out[name.strip()] = reason.strip()
    return out


def pytest_collection_modifyitems(config, items):
    """Marks the expected failures (strict: a test that starts passing fails the run)."""
    expected = _expected_failures()
    for item in items:
        reason = expected.get(item.name) or expected.get(item.nodeid)
        if reason:
            item.add_marker(pytest.mark.xfail(reason=reason, strict=True))


LISTEN_RE = re.compile(r"^backendai-local-server listening on (http://127\.0\.0\.1:(\d+))\s*$")
STARTUP_TIMEOUT = 60.0


@dataclass
class LocalServer:
    url: str
    port: int
    access_key: str
    secret_key: str
    email: str
    password: str
    proc: subprocess.Popen
    stderr_path: Path

    @property
    def session_url(self) -> str:
        # The SDK's aiohttp cookie jar refuses cookies from IP-address hosts, so the
        # session-mode (cookie login) tests address the server by name.
        return f"http://localhost:{self.port}"

    def stderr_tail(self, n: int = 60) -> str:
        try:
            lines = self.stderr_path.read_text(errors="replace").splitlines()
        except OSError:
            return "<no stderr captured>"
        return "\n".join(lines[-n:])


def _server_binary() -> Path:
    env = os.environ.get("BAI_LOCAL_SERVER")
    if env:
        return Path(env)
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    return target / "debug" / "backendai-local-server"


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> LocalServer:
    binary = _server_binary()
    if not binary.is_file():
        pytest.fail(
            f"server binary {binary} does not exist: build it with "
            "`cargo build -p backendai-local-server` or set BAI_LOCAL_SERVER",
            pytrace=False,
        )
    workdir = tmp_path_factory.mktemp("server")
    data_dir = workdir / "data"
    data_dir.mkdir()
    stderr_path = workdir / "stderr.log"
    stderr_file = open(stderr_path, "wb")
    proc = subprocess.Popen(
        [
            str(binary),
            "--emulate", RELEASE,
            "--port", "0",
            "--keypair", f"{ACCESS_KEY}:{SECRET_KEY}",
            "--user", f"{USER_EMAIL}:{USER_PASSWORD}:{ACCESS_KEY}",
            "--data-dir", str(data_dir),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr_file,
        cwd=str(workdir),
        # `pip install --user` of batch builds lands in the run's directory.
        env={**os.environ, "PYTHONUSERBASE": str(workdir / "userbase")},
    )
    first_line: list[str] = []
    ready = threading.Event()

    def pump_stdout() -> None:
        # Keep reading so the server never blocks on a full pipe.
        assert proc.stdout is not None
        for raw in proc.stdout:
            if not ready.is_set():
                first_line.append(raw.decode(errors="replace"))
                ready.set()
        ready.set()

    threading.Thread(target=pump_stdout, daemon=True).start()

    def fail(why: str) -> None:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        stderr_file.close()
        text = stderr_path.read_text(errors="replace")
        pytest.fail(f"{why}\n--- server stderr ---\n{text[-8000:]}", pytrace=False)

    if not ready.wait(STARTUP_TIMEOUT):
        fail(f"server printed nothing on stdout within {STARTUP_TIMEOUT:.0f} s")
    if not first_line:
        fail(f"server exited with status {proc.wait()} before printing its address")
    m = LISTEN_RE.match(first_line[0])
    if m is None:
        fail(f"unexpected first stdout line from the server: {first_line[0]!r}")

    srv = LocalServer(
        url=m.group(1),
        port=int(m.group(2)),
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        email=USER_EMAIL,
        password=USER_PASSWORD,
        proc=proc,
        stderr_path=stderr_path,
    )
    yield srv

    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    stderr_file.close()


@pytest.fixture(autouse=True)
def sdk_env(server, monkeypatch, tmp_path):
    """API-mode configuration for the SDK, read from the environment (its implicit config).

    Each test runs in its own empty directory: the SDK loads a ``.env`` found upward
    from the working directory, and ``upload()`` takes paths relative to it. The state
    directory is private so no cookie file of a real installation is picked up.
    The SDK's cached process-wide configuration is reset around each test.
    """
    for key in list(os.environ):
        if key.startswith(("BACKEND_", "SORNA_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("BACKEND_ENDPOINT", server.url)
    monkeypatch.setenv("BACKEND_ENDPOINT_TYPE", "api")
    monkeypatch.setenv("BACKEND_ACCESS_KEY", server.access_key)
    monkeypatch.setenv("BACKEND_SECRET_KEY", server.secret_key)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    # Session() without a config uses a process-wide APIConfig built from the environment
    # on first use; drop it so every test reads its own environment, like a fresh program.
    set_config(None)
    yield
    set_config(None)
    if server.proc.poll() is not None:
        pytest.fail(
            f"the server exited (status {server.proc.returncode}) during this test\n"
            f"--- server stderr ---\n{server.stderr_tail()}",
            pytrace=False,
        )


@pytest.fixture
def unique():
    """Short unique suffix for session and folder names (4–64 chars, ``^\\w[\\w.-]*\\w$``)."""
    counter = iter(range(1_000_000))

    def make(prefix: str) -> str:
        return f"{prefix}-{os.getpid() % 10000:04d}{int(time.time() * 1000) % 100000:05d}{next(counter)}"

    return make
