"""Start the embedded default on one machine: Temporal dev server, worker and API.

``make run`` runs this. Everything lives in WEIQUAN_DATA_DIR (default ``data/``): the
Temporal dev server's SQLite file, the application's SQLite file and the three logs, so
stopping and starting again keeps every case and every running workflow. Why the dev server
runs with ``journal_mode=wal`` and ``synchronous=normal``: see docs/embedded.md.
WEIQUAN_EMBEDDED_WORKERS and WEIQUAN_API_PROCESSES start several workers and several API
processes (those on one port, with the database on PostgreSQL), each a child of its own.

    python scripts/run_embedded.py                  # Temporal + worker + API
    python scripts/run_embedded.py --temporal-only  # just the dev server, for debugging

Ctrl+C (SIGINT) or SIGTERM stops the API, then the worker, then Temporal, and exits 0, at
any moment, also while a child is down or being restarted.

A child that fails during start-up (before the banner) stops everything at once, with the
last lines of its log, and the exit status is 1: a misconfiguration is not hidden behind
restarts. A child that dies afterwards is restarted, the others keep running: after
WEIQUAN_RESTART_BACKOFF_SECONDS (1 s), doubling with each recent crash of that child up to
WEIQUAN_RESTART_BACKOFF_MAX_SECONDS (30 s). Each restart is printed here and marked in the
child's log. A restarted Temporal keeps its state (the same ``temporal.db``); the launcher
checks that its namespace answers again, and the worker and API reconnect by themselves.
When one child would need more than WEIQUAN_RESTART_MAX (5) restarts within
WEIQUAN_RESTART_WINDOW_SECONDS (60 s), the launcher gives up: it stops the others in order,
prints the last lines of that child's log and exits 1.
"""

from __future__ import annotations

import argparse
import ctypes
import fcntl
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, NoReturn

from prometheus_client import multiprocess
from pydantic import ValidationError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.config import Settings, get_settings, refusal  # noqa: E402
from api.search_attributes import SEARCH_ATTRIBUTES  # noqa: E402

TEMPORAL_READY_TIMEOUT = 30.0
API_HEALTHY_TIMEOUT = 60.0
# How long each child gets after SIGTERM before it is killed.
STOP_TIMEOUTS = {"api": 10.0, "worker": 30.0, "temporal": 15.0}
# Each history shard reads its task queues at most this often a second (Temporal's default:
# 20). Past that, a ready task (the workflow task after an activity, a child to start, its
# completion for the parent) waits for the next read: up to 50 ms for each step of a case
# once a few are in flight. docs/embedded.md, "Reading Temporal's task queues"; the compose
# stack has the same values in deploy/temporal/dynamicconfig.yaml.
TEMPORAL_DYNAMIC_CONFIG = {
    "history.transferProcessorMaxPollRPS": 200,
    "history.timerProcessorMaxPollRPS": 200,
    "history.visibilityProcessorMaxPollRPS": 200,
}
# Where several API processes keep their metrics for one scrape to sum (prometheus-client's
# multiprocess mode), in the data dir; emptied at every start.
API_METRICS_DIR = "api-metrics"


class LaunchError(Exception):
    """Start-up failed; the message says what to do about it."""


@dataclass
class Child:
    name: str
    argv: list[str]
    proc: subprocess.Popen[bytes]
    log_path: Path
    log_file: IO[bytes]
    env: Mapping[str, str]
    # When it died after start-up, most recent last (monotonic clock); pruned to the window.
    crashes: deque[float] = field(default_factory=deque)
    # While it is down: when its backoff ends and it is started again.
    restart_at: float | None = None


class Launcher:
    def __init__(self, settings: Settings, *, temporal_only: bool, headless: bool) -> None:
        self.settings = settings
        self.temporal_only = temporal_only
        self.headless = headless
        self.data_dir = settings.data_dir.resolve()
        self.address = f"127.0.0.1:{settings.temporal_port}"
        self.ui_port = settings.effective_temporal_ui_port
        self.api_host = settings.api_host
        # A wildcard bind is reachable locally through the loopback address.
        self.url_host = "127.0.0.1" if self.api_host in ("0.0.0.0", "::", "") else self.api_host
        self.children: list[Child] = []
        self.stop_signal: int | None = None
        # Set when Temporal was restarted and its namespace has not answered since.
        self.temporal_restarted: float | None = None
        self.temporal_warned = False
        self.temporal_bin = find_temporal_binary()
        self.env = self._child_env()
        # With several API processes: their metrics' files, for /metrics to sum.
        self.api_metrics: Path | None = None
        if settings.api_processes > 1:
            self.api_metrics = self.data_dir / API_METRICS_DIR

    def _child_env(self) -> dict[str, str]:
        env = dict(os.environ)
        # Children run from the repo root; an absolute data dir keeps a relative
        # WEIQUAN_DATA_DIR pointing where the user meant.
        env["WEIQUAN_DATA_DIR"] = str(self.data_dir)
        given = os.environ.get("WEIQUAN_TEMPORAL_ADDRESS", "")
        if given and given != self.address:
            print(
                f"note: WEIQUAN_TEMPORAL_ADDRESS={given} is ignored by the embedded default; "
                f"its own Temporal listens on {self.address}"
            )
        env["WEIQUAN_TEMPORAL_ADDRESS"] = self.address
        # Set for the API processes when there are several (start_app), never inherited.
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        env.setdefault("PYTHONUNBUFFERED", "1")
        return env

    # -- signals ---------------------------------------------------------------------------

    def _on_signal(self, signum: int, _frame: object) -> None:
        if self.stop_signal is None:
            self.stop_signal = signum

    def _check_stop(self) -> None:
        if self.stop_signal is not None:
            raise KeyboardInterrupt

    # -- children --------------------------------------------------------------------------

    def _spawn(self, name: str, argv: list[str], env: Mapping[str, str] | None = None) -> Child:
        log_path = self.data_dir / f"{name}.log"
        log_file = log_path.open("ab")
        env = env or self.env
        child = Child(name, argv, self._popen(argv, log_file, env), log_path, log_file, env)
        self.children.append(child)
        return child

    def _popen(
        self, argv: list[str], log_file: IO[bytes], env: Mapping[str, str]
    ) -> subprocess.Popen[bytes]:
        mark(log_file, " ".join(argv))
        return subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            # Own session: Ctrl+C reaches only this launcher, which stops the children in
            # order (API, worker, Temporal) instead of all at once.
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )

    def _check_children(self) -> None:
        """During start-up: any child that dies stops everything (no restarts)."""
        for child in self.children:
            code = child.proc.poll()
            if code is not None:
                raise LaunchError(
                    f"{child.name} {how_it_ended(code)} unexpectedly.\n"
                    f"Last lines of {child.log_path}:\n{tail(child.log_path)}"
                )

    # -- restarts after start-up -----------------------------------------------------------

    def supervise(self) -> NoReturn:
        """Keep the children running until a stop signal; raise LaunchError on giving up."""
        while True:
            self._check_stop()
            now = time.monotonic()
            for child in self.children:
                if child.restart_at is None:
                    code = child.proc.poll()
                    if code is not None:
                        self._crashed(child, code, now)
                elif now >= child.restart_at:
                    self._restart(child)
                    self._check_stop()
            if self.temporal_restarted is not None:
                self._recheck_temporal()
            time.sleep(0.2)

    def _crashed(self, child: Child, code: int, now: float) -> None:
        """Schedule a restart after a backoff, or give up after too many in the window."""
        settings = self.settings
        window = settings.restart_window_seconds
        while child.crashes and now - child.crashes[0] > window:
            child.crashes.popleft()
        how = how_it_ended(code)
        if self.api_metrics is not None and child.name.startswith("api"):
            # Its counts stay in the sums; its "live" gauges (one process serving) go.
            multiprocess.mark_process_dead(child.proc.pid, str(self.api_metrics))
        if len(child.crashes) >= settings.restart_max:
            mark(child.log_file, f"{child.name} {how}; giving up")
            raise LaunchError(
                f"{child.name} {how} unexpectedly, after {len(child.crashes)} restart(s) "
                f"within {window:g} s: giving up (WEIQUAN_RESTART_MAX={settings.restart_max}, "
                f"WEIQUAN_RESTART_WINDOW_SECONDS={window:g}).\n"
                f"Last lines of {child.log_path}:\n{tail(child.log_path)}"
            )
        delay = min(
            settings.restart_backoff_seconds * 2 ** len(child.crashes),
            settings.restart_backoff_max_seconds,
        )
        child.crashes.append(now)
        child.restart_at = now + delay
        message = (
            f"{child.name} {how} unexpectedly; restarting it in {delay:g} s "
            f"(restart {len(child.crashes)} of at most {settings.restart_max} "
            f"within {window:g} s)"
        )
        print(message, flush=True)
        mark(child.log_file, message)

    def _restart(self, child: Child) -> None:
        child.restart_at = None
        try:
            child.proc = self._popen(child.argv, child.log_file, child.env)
        except OSError as exc:  # counted like a crash: it retries, then gives up
            print(f"could not start {child.name}: {exc}", flush=True)
            mark(child.log_file, f"could not start {child.name}: {exc}")
            self._crashed(child, 1, time.monotonic())
            return
        print(f"restarted {child.name} (pid {child.proc.pid})", flush=True)
        if child.name == "temporal":
            self.temporal_restarted = time.monotonic()
            self.temporal_warned = False

    def _recheck_temporal(self) -> None:
        """After a restart of Temporal: tell when its namespace answers again.

        It never aborts: the worker and the API wait for Temporal by themselves, and if the
        dev server dies again that is a crash like any other.
        """
        assert self.temporal_restarted is not None
        temporal = next(child for child in self.children if child.name == "temporal")
        if temporal.restart_at is not None or temporal.proc.poll() is not None:
            return  # down again: supervise() restarts it, and the check starts over
        waited = time.monotonic() - self.temporal_restarted
        registered, error = self.query_namespace()
        if registered is not None:
            print(f"Temporal answers again on {self.address} after {waited:.1f} s", flush=True)
            self.temporal_restarted = None
        elif waited > TEMPORAL_READY_TIMEOUT and not self.temporal_warned:
            self.temporal_warned = True
            print(
                f"warning: the restarted Temporal does not answer on {self.address} after "
                f"{waited:.0f} s ({error or 'no answer'}); still waiting. "
                f"See {temporal.log_path}",
                flush=True,
            )

    def stop_all(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
        for child in reversed(self.children):  # API, worker, then Temporal
            if child.proc.poll() is None:
                print(f"stopping {child.name} …", flush=True)
                child.proc.terminate()
                try:
                    child.proc.wait(STOP_TIMEOUTS.get(child.name.split("-")[0], 10.0))
                except subprocess.TimeoutExpired:
                    print(f"{child.name} did not stop in time; killing it", flush=True)
                    child.proc.kill()
                    child.proc.wait()
            child.log_file.close()
        self.children.clear()
        if self.api_metrics is not None:
            shutil.rmtree(self.api_metrics, ignore_errors=True)

    # -- Temporal --------------------------------------------------------------------------

    def start_temporal(self) -> None:
        namespace = self.settings.temporal_namespace
        argv = [
            self.temporal_bin, "server", "start-dev",
            "--ip", "127.0.0.1",
            "--port", str(self.settings.temporal_port),
            "--ui-port", str(self.ui_port),
            "--db-filename", str(self.data_dir / "temporal.db"),
            "--namespace", namespace,
            "--log-level", "warn",
            # Throughput over the last commits on a power cut: see docs/embedded.md.
            "--sqlite-pragma", "journal_mode=wal",
            "--sqlite-pragma", "synchronous=normal",
            # A bureau's machine is often offline: no newsfeed requests from the UI.
            "--ui-disable-news-fetch",
        ]  # fmt: skip
        for key, value in TEMPORAL_DYNAMIC_CONFIG.items():
            argv += ["--dynamic-config-value", f"{key}={value}"]
        # These register the attributes when the db file is new; on an existing file the
        # dev server silently skips them, so ensure_search_attributes() adds what is missing.
        for name, kind in SEARCH_ATTRIBUTES.items():
            argv += ["--search-attribute", f"{name}={kind}"]
        if self.headless:
            argv.append("--headless")
        self._spawn("temporal", argv)

    def _temporal_cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        argv = [self.temporal_bin, "operator", *args]
        argv += ["--address", self.address, "--namespace", self.settings.temporal_namespace]
        return subprocess.run(argv, capture_output=True, text=True, timeout=10, cwd=ROOT)

    def query_namespace(self) -> tuple[dict[str, str] | None, str]:
        """The namespace's custom search attributes if it answers, else None and why not."""
        if not port_open("127.0.0.1", self.settings.temporal_port):
            return None, ""
        try:
            result = self._temporal_cli("search-attribute", "list", "-o", "json")
        except subprocess.TimeoutExpired:
            return None, "no answer within 10 s"
        if result.returncode != 0:
            return None, (result.stderr or result.stdout).strip()
        attributes: dict[str, str] = json.loads(result.stdout).get("customAttributes", {})
        return attributes, ""

    def wait_for_temporal(self) -> dict[str, str]:
        """Poll until the namespace answers; return its custom search attributes."""
        deadline = time.monotonic() + TEMPORAL_READY_TIMEOUT
        last_error = ""
        while time.monotonic() < deadline:
            self._check_stop()
            self._check_children()
            registered, error = self.query_namespace()
            if registered is not None:
                return registered
            last_error = error or last_error
            time.sleep(0.1)
        raise LaunchError(
            f"Temporal did not answer on {self.address} within {TEMPORAL_READY_TIMEOUT:.0f} s"
            + (f" ({last_error})" if last_error else "")
            + f".\nLast lines of {self.data_dir / 'temporal.log'}:\n"
            + tail(self.data_dir / "temporal.log")
        )

    def ensure_search_attributes(self, registered: dict[str, str]) -> list[str]:
        """Add the attributes a db file from an older version lacks; refuse type clashes."""
        missing: list[str] = []
        for name, kind in SEARCH_ATTRIBUTES.items():
            have = registered.get(name)
            if have is None:
                missing.append(name)
            elif have != indexed_value_type(kind):
                have_kind = have.removeprefix("INDEXED_VALUE_TYPE_").title().replace("_", "")
                raise LaunchError(
                    f"search attribute {name} is registered as {have_kind} in "
                    f"{self.data_dir / 'temporal.db'}, but weiquan needs {kind}. "
                    "Temporal cannot change its type; use a new WEIQUAN_DATA_DIR."
                )
        if missing:
            args = ["search-attribute", "create"]
            for name in missing:
                args += ["--name", name, "--type", SEARCH_ATTRIBUTES[name]]
            result = self._temporal_cli(*args)
            if result.returncode != 0:
                raise LaunchError(
                    f"could not register search attributes {', '.join(missing)}: "
                    f"{(result.stderr or result.stdout).strip()}"
                )
        return missing

    def set_retention(self) -> None:
        """How long Temporal keeps a closed case's history: set explicitly (the dev server's
        own default is 24 hours), from WEIQUAN_TEMPORAL_RETENTION_DAYS."""
        days = self.settings.temporal_retention_days
        result = self._temporal_cli("namespace", "update", "--retention", f"{days * 24}h")
        if result.returncode != 0:
            raise LaunchError(
                f"could not set the namespace's retention to {days} days: "
                f"{(result.stderr or result.stdout).strip()}"
            )

    # -- worker and API --------------------------------------------------------------------

    def start_app(self) -> None:
        count = self.settings.embedded_workers
        for number in range(1, count + 1):  # worker.log, or worker-1.log, worker-2.log …
            name = "worker" if count == 1 else f"worker-{number}"
            self._spawn(name, [sys.executable, "worker.py"])
        env = dict(self.env)
        if self.api_metrics is not None:
            # A fresh directory: files of an earlier run's processes would count again.
            shutil.rmtree(self.api_metrics, ignore_errors=True)
            self.api_metrics.mkdir()
            env["PROMETHEUS_MULTIPROC_DIR"] = str(self.api_metrics)
        count = self.settings.api_processes
        for number in range(1, count + 1):  # api.log, or api-1.log, api-2.log …
            name = "api" if count == 1 else f"api-{number}"
            # uvicorn on the API's port, shared by the processes when there are several
            # (api/serve.py); each writes its own access lines, never the query strings.
            self._spawn(name, [sys.executable, "-m", "api.serve"], env)

    def wait_for_api(self) -> None:
        """Until every API process answers GET /healthz with 200.

        Each answer names the process that gave it (``pid``): with several on the port,
        the kernel hands each new connection to one of them.
        """
        url = f"http://{self.url_host}:{self.settings.api_port}/healthz"
        apis = [child for child in self.children if child.name.startswith("api")]
        healthy: set[int] = set()
        deadline = time.monotonic() + API_HEALTHY_TIMEOUT
        last = "no answer"
        while time.monotonic() < deadline:
            self._check_stop()
            self._check_children()
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    healthy.add(json.load(response).get("pid"))
                    if {child.proc.pid for child in apis} <= healthy:
                        return
                    last = f"{len(healthy)} of {len(apis)} API processes healthy"
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}"
            except (urllib.error.URLError, OSError, ValueError) as exc:
                last = str(getattr(exc, "reason", exc))
            time.sleep(0.05 if healthy else 0.2)
        worker = next(child for child in self.children if child.name.startswith("worker"))
        logs = [apis[0].log_path, worker.log_path]
        raise LaunchError(
            f"{url} was not healthy within {API_HEALTHY_TIMEOUT:.0f} s (last: {last}).\n"
            + "\n".join(f"Last lines of {path}:\n{tail(path)}" for path in logs)
        )

    # -- the whole run ---------------------------------------------------------------------

    def check_ports_free(self) -> None:
        wanted = {"WEIQUAN_TEMPORAL_PORT": ("127.0.0.1", self.settings.temporal_port)}
        if not self.headless:
            wanted["WEIQUAN_TEMPORAL_UI_PORT"] = ("127.0.0.1", self.ui_port)
        if not self.temporal_only:
            wanted["WEIQUAN_API_PORT"] = (self.url_host, self.settings.api_port)
        ports = [port for _, port in wanted.values()]
        if len(set(ports)) != len(ports):
            names = ", ".join(f"{variable}={port}" for variable, (_, port) in wanted.items())
            raise LaunchError(f"two services would share a port ({names}); choose distinct ports")
        for variable, (host, port) in wanted.items():
            if port_open(host, port):
                raise LaunchError(
                    f"port {port} on {host} is already in use (is another copy running?). "
                    f"Choose another one with {variable}."
                )

    def run(self) -> int:
        started = time.monotonic()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._on_signal)
        try:
            self.check_ports_free()
            self.start_temporal()
            registered = self.wait_for_temporal()
            added = self.ensure_search_attributes(registered)
            self.set_retention()
            temporal_ready = time.monotonic() - started
            if added:
                print(f"registered search attributes: {', '.join(added)}")
            print(f"Temporal reachable on {self.address} after {temporal_ready:.1f} s", flush=True)
            if not self.temporal_only:
                self.start_app()
                self.wait_for_api()
            self.print_banner(time.monotonic() - started)
            self.supervise()
        except KeyboardInterrupt:
            print("\nshutting down …", flush=True)
            self.stop_all()
            print("stopped.")
            return 0
        except LaunchError as exc:
            print(f"\nerror: {exc}", file=sys.stderr, flush=True)
            self.stop_all()
            return 1
        except BaseException:
            self.stop_all()
            raise

    def print_banner(self, took: float) -> None:
        base = f"http://{self.url_host}:{self.settings.api_port}"
        lines = ["", "weiquan (维权) is running — embedded default"]
        if not self.temporal_only:
            lines += [
                f"  Workplace:    {base}/  (工作台)",
                f"  API docs:     {base}/docs",
            ]
        lines += [f"  Temporal:     {self.address}"]
        if not self.headless:
            lines += [f"  Temporal UI:  http://127.0.0.1:{self.ui_port}"]
        what = "Temporal up" if self.temporal_only else "healthy"
        logs = ", ".join(f"{child.name}.log" for child in self.children)
        if self.settings.api_processes > 1 and not self.temporal_only:
            lines += [f"  API:          {self.settings.api_processes} processes on the port"]
        lines += [
            f"  Data dir:     {self.data_dir}  (logs: {logs})",
            f"  {what} after {took:.1f} s. Press Ctrl+C to stop.",
            "",
        ]
        print("\n".join(lines), flush=True)


# -- helpers ---------------------------------------------------------------------------------


def find_temporal_binary() -> str:
    venv_bin = str(Path(sys.executable).parent)  # not resolved: the venv's bin, not pyenv's
    found = shutil.which("temporal", path=venv_bin) or shutil.which("temporal")
    if not found:
        raise LaunchError(
            "the temporal CLI was not found next to this Python nor on PATH; "
            "run `make setup` (it comes from the temporal-bin package)"
        )
    return found


def indexed_value_type(cli_type: str) -> str:
    """'KeywordList' -> 'INDEXED_VALUE_TYPE_KEYWORD_LIST', as `-o json` reports it."""
    return "INDEXED_VALUE_TYPE_" + re.sub(r"(?<!^)(?=[A-Z])", "_", cli_type).upper()


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def how_it_ended(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited ({code})"


def mark(log_file: IO[bytes], text: str) -> None:
    """A marker line in a child's log, telling what the launcher did and when."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    log_file.write(f"\n===== {stamp} run_embedded: {text}\n".encode())
    log_file.flush()


def tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "  (no log)"
    return "\n".join("  " + line for line in text.splitlines()[-lines:])


def _die_with_parent() -> None:
    """Linux: children get SIGTERM if the launcher is killed outright (kill -9)."""
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def lock_data_dir(data_dir: Path) -> IO[str]:
    """Two launchers on one data dir would run two Temporal servers on one db file."""
    handle = (data_dir / "run_embedded.lock").open("a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise LaunchError(
            f"{data_dir} is in use by another run_embedded.py; "
            "stop it or choose another WEIQUAN_DATA_DIR"
        ) from None
    handle.truncate(0)
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--temporal-only",
        action="store_true",
        help="start only the Temporal dev server (run the worker and API yourself)",
    )
    args = parser.parse_args()
    try:
        settings = get_settings()
    except ValidationError as error:
        print(f"error: {refusal(error)}", file=sys.stderr)
        return 1
    # Not a Settings field: only this launcher reads it.
    headless = os.environ.get("WEIQUAN_TEMPORAL_HEADLESS", "").lower() in ("1", "true", "yes")
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        lock = lock_data_dir(settings.data_dir.resolve())
        launcher = Launcher(settings, temporal_only=args.temporal_only, headless=headless)
    except LaunchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        return launcher.run()
    finally:
        lock.close()


if __name__ == "__main__":
    sys.exit(main())
