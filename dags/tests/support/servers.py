"""Real local servers for the tests: a throw-away PostgreSQL, the data API contract, free ports."""
from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, urlparse

from .listings import batch


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_bin_dir() -> Path:
    candidates = [os.environ.get("PG_BIN")]
    if shutil.which("pg_config"):
        candidates.append(subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip())
    for candidate in filter(None, candidates):
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    raise RuntimeError("PostgreSQL server binaries not found ($PG_BIN, `pg_config --bindir`): "
                       "install the postgresql package (scripts/test.d/50-pipeline.sh does)")


@dataclass
class Postgres:
    host: str
    port: int
    password: str
    directory: Path
    bin_dir: Path

    def params(self, dbname: str = "postgres", user: str = "postgres", password: str | None = None) -> dict[str, Any]:
        return {"host": self.host, "port": self.port, "user": user,
                "password": password if password is not None else self.password, "dbname": dbname}

    def url(self, dbname: str, user: str = "postgres", password: str | None = None) -> str:
        return f"postgresql://{user}:{password or self.password}@{self.host}:{self.port}/{dbname}"

    def create_database(self, name: str, owner_password: str) -> None:
        """A database and an owning role of the same name (as the platform's setup Job does)."""
        import psycopg2

        conn = psycopg2.connect(**self.params())
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'CREATE ROLE "{name}" LOGIN PASSWORD %s', (owner_password,))
            cur.execute(f'CREATE DATABASE "{name}" OWNER "{name}"')
        conn.close()

    def stop(self) -> None:
        try:
            _as_server_user([str(self.bin_dir / "pg_ctl"), "-D", str(self.directory / "data"), "-m", "fast", "-w", "stop"])
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)


def _as_server_user(cmd: list[str]) -> None:
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr or done.stdout}")


def start_postgres() -> Postgres:
    bin_dir = postgres_bin_dir()
    directory = Path(tempfile.mkdtemp(prefix="mlops-pg-"))
    password = secrets.token_urlsafe(18)
    (directory / "pw").write_text(password)
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
        shutil.chown(directory / "pw", "postgres", "postgres")
    _as_server_user([str(bin_dir / "initdb"), "-D", str(directory / "data"), "-U", "postgres",
                     "--auth=scram-sha-256", f"--pwfile={directory / 'pw'}", "--no-sync"])
    port = free_port()
    _as_server_user([str(bin_dir / "pg_ctl"), "-D", str(directory / "data"), "-l", str(directory / "log"), "-w",
                     "-t", "60", "-o", f"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off", "start"])
    return Postgres("127.0.0.1", port, password, directory, bin_dir)


class DataApiServer:
    """The data API's contract (shared/design.md) over real HTTP: GET /data serves the next
    of `batches` seeded batches of a (group, day), then 400; /restart_data_generation resets
    the counter; /health. `repeat_next` makes the next /data call serve the previous batch
    again, as the course service does within its interval."""

    def __init__(self, *, batches: int, batch_size: int, seed: int = 7, groups: range = range(1, 11),
                 days: tuple[str, ...] = ("Tuesday", "Wednesday"),
                 make_batch: Callable[[int, int], list[dict[str, Any]]] | None = None):
        self.batches, self.batch_size, self.seed, self.groups, self.days = batches, batch_size, seed, groups, days
        self.make_batch = make_batch or (lambda seed, size: batch(seed, size))
        self.counters: dict[tuple[int, str], int] = {}
        self.repeat_next = False
        self.requests = 0
        self.port = free_port()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                server.requests += 1
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/health":
                    return self._send(200, {"status": "OK"})
                if url.path not in ("/data", "/restart_data_generation"):
                    return self._send(404, {"detail": "not found"})
                try:
                    group = int(query.get("group_number", ""))
                except ValueError:
                    return self._send(400, {"detail": "group_number must be an integer"})
                day = query.get("day", "")
                if group not in server.groups or day not in server.days:
                    return self._send(400, {"detail": f"invalid group_number {group} or day {day!r}"})
                key = (group, day)
                if url.path == "/restart_data_generation":
                    server.counters[key] = 0
                    return self._send(200, {"ok": True})
                if server.repeat_next and server.counters.get(key, 0) > 0:
                    server.repeat_next = False
                    number = server.counters[key]
                else:
                    number = server.counters.get(key, 0) + 1
                    if number > server.batches:
                        return self._send(400, {"detail": f"all {server.batches} batches have been served"})
                    server.counters[key] = number
                rows = server.make_batch(server.seed * 100_003 + group * 1009 + number, server.batch_size)
                return self._send(200, {"group_number": group, "day": day, "batch_number": number, "data": rows})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "DataApiServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
