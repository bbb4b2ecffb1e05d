"""The real stack, started the way ``make run`` starts it, and a client of its HTTP API."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from scripts.ports import stable_free_port

ROOT = Path(__file__).resolve().parents[2]
API = "/api/v1"


# What each part's command line holds.
PARTS = {"temporal": "start-dev", "worker": "worker.py", "api": "api.serve"}


def free_port() -> int:
    return stable_free_port("127.0.0.1")


class Embedded:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.api_port = free_port()
        self.temporal_port = free_port()
        self.env = {
            **os.environ,
            "WEIQUAN_DATA_DIR": str(data_dir),
            "WEIQUAN_API_PORT": str(self.api_port),
            "WEIQUAN_TEMPORAL_PORT": str(self.temporal_port),
            "WEIQUAN_TEMPORAL_UI_PORT": str(free_port()),
            "WEIQUAN_TEMPORAL_HEADLESS": "1",
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.base = f"http://127.0.0.1:{self.api_port}"

    def start(self) -> float:
        began = time.monotonic()
        earlier = len(self.output()) if (self.data_dir / "launcher.out").exists() else 0
        self.proc = subprocess.Popen(
            [sys.executable, "scripts/run_embedded.py"],
            cwd=ROOT,
            env=self.env,
            stdout=open(self.data_dir / "launcher.out", "ab"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
        )
        while time.monotonic() - began < 90:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"launcher exited: {(self.data_dir / 'launcher.out').read_text()}"
                )
            # Start-up ends with the banner, printed once the API is healthy; until then
            # the launcher treats a dying child as a failed start, not as a crash.
            if "Press Ctrl+C to stop" in self.output()[earlier:]:
                return time.monotonic() - began
            time.sleep(0.2)
        raise AssertionError("the stack did not become healthy within 90 s")

    def stop(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        assert self.proc.wait(timeout=60) == 0, (self.data_dir / "launcher.out").read_text()
        self.proc = None

    def output(self) -> str:
        """What the launcher printed so far (stdout and stderr)."""
        return (self.data_dir / "launcher.out").read_text(errors="replace")

    def children(self) -> dict[str, int]:
        """The launcher's running children by name: temporal, worker, api (one of each)."""
        return {part: pids[0] for part in PARTS if (pids := self.pids(part))}

    def pids(self, part: str) -> list[int]:
        """The launcher's running children of one part (temporal, worker, api), by pid."""
        assert self.proc is not None
        return sorted(
            pid
            for pid, ppid, cmdline in _processes()
            if ppid == self.proc.pid and PARTS[part] in cmdline
        )

    def leftovers(self) -> list[str]:
        """Processes still running on this stack's data dir (its children, once stopped)."""
        data_dir = str(self.data_dir)
        marker = f"WEIQUAN_DATA_DIR={data_dir}".encode()
        alive = []
        for pid, _, cmdline in _processes():
            try:
                environ = Path(f"/proc/{pid}/environ").read_bytes()
            except OSError:
                continue
            if marker in environ.split(b"\0") or data_dir in cmdline:
                alive.append(f"{pid} {cmdline}")
        return alive


def _processes() -> Iterator[tuple[int, int, str]]:
    """(pid, parent pid, command line) of every live process, zombies left out."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if state != "Z":
            yield int(entry.name), int(ppid), cmdline


def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Polls until ``condition()`` is truthy and returns it; fails after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout:.0f} s")


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[Embedded]:
    stack = Embedded(tmp_path)
    yield stack
    if stack.proc is not None:
        stack.proc.kill()
        stack.proc.wait()


class Client:
    def __init__(self, base: str, *, keep_alive: bool = True) -> None:
        # keep_alive=False: a new connection for every request, so that requests are spread
        # over the API processes that share the port (the kernel picks one per connection).
        fresh = {} if keep_alive else {"limits": httpx.Limits(max_keepalive_connections=0)}
        self.http = httpx.Client(base_url=base + API, timeout=60, **fresh)
        self.tokens: dict[str, str] = {}

    def as_(self, user: str) -> dict[str, str]:
        if user not in self.tokens:
            response = self.http.post("/auth/token", data={"username": user, "password": "demo"})
            assert response.status_code == 200, response.text
            self.tokens[user] = response.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def get(self, url: str, user: str, **kw: Any) -> Any:
        response = self.http.get(url, headers=self.as_(user), **kw)
        assert response.status_code == 200, response.text
        return response.json()

    def post(self, url: str, user: str, **kw: Any) -> Any:
        response = self.http.post(url, headers=self.as_(user), **kw)
        assert response.status_code in (200, 201), response.text
        return response.json()

    def task(self, case_no: str, kind: str, user: str) -> dict[str, Any]:
        for _ in range(150):
            found = self.get(
                "/tasks", user, params={"case_no": case_no, "kind": kind, "status": "open"}
            )
            if found["data"]:
                return found["data"][0]  # type: ignore[no-any-return]
            time.sleep(0.1)
        raise AssertionError(f"no open {kind} task for {case_no}")
