"""PostgreSQL and Redis servers of this machine's own packages, run on loopback in a folder.

For production on one machine (`shopdesk up --production` with `--local-services`) and for
the tests: each server keeps its data under a folder of ours, listens on 127.0.0.1 only, on a
port of ours, with a password, so it never touches a system-wide instance. PostgreSQL refuses
to run as root; as root, its commands run as the `postgres` user that Debian's package
creates. Install the servers with `apt-get install postgresql redis-server`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote


class ServiceError(RuntimeError):
    """A local server could not be found, started or stopped; the message says how to fix it."""


def _postgres_bin(name: str) -> str:
    """A PostgreSQL program: from PATH, else Debian's versioned folder (newest first)."""
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    if candidates:
        return str(candidates[0])
    found = shutil.which(name)
    if found:
        return found
    raise ServiceError(
        f"PostgreSQL's `{name}` is not installed: apt-get install postgresql (Debian/Ubuntu)."
    )


def _as_postgres_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


def _run(command: list[str], what: str, env: dict | None = None) -> str:
    result = subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, **(env or {})}, check=False
    )
    if result.returncode != 0:
        raise ServiceError(f"{what} failed: {(result.stderr or result.stdout).strip()}")
    return result.stdout


@dataclass
class LocalPostgres:
    directory: Path
    port: int
    password: str
    user: str = "shopdesk"
    database: str = "shopdesk"

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    @property
    def url(self) -> str:
        return (
            f"postgresql://{self.user}:{quote(self.password, safe='')}"
            f"@127.0.0.1:{self.port}/{self.database}"
        )

    def _prepare_directory(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        self.directory.chmod(0o700)

    def initialise(self) -> None:
        """initdb once: password authentication only, UTF-8."""
        if (self.data_dir / "PG_VERSION").exists():
            return
        self._prepare_directory()
        password_file = self.directory / "initial-password"
        password_file.write_text(self.password + "\n")
        if os.geteuid() == 0:
            shutil.chown(password_file, "postgres", "postgres")
        password_file.chmod(0o600)
        try:
            _run(
                _as_postgres_user(
                    [
                        _postgres_bin("initdb"),
                        "-D",
                        str(self.data_dir),
                        "-U",
                        self.user,
                        f"--pwfile={password_file}",
                        "--auth=scram-sha-256",
                        "--encoding=UTF8",
                        "--no-locale",
                    ]
                ),
                "initdb",
            )
        finally:
            password_file.unlink(missing_ok=True)

    def start(self) -> None:
        self.initialise()
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} "
            f"-c unix_socket_directories='{self.directory}' -c max_connections=200"
        )
        _run(
            _as_postgres_user(
                [
                    _postgres_bin("pg_ctl"),
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.directory / "postgres.log"),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            ),
            f"starting PostgreSQL on 127.0.0.1:{self.port} (log: {self.directory}/postgres.log)",
        )
        self._create_database()

    def _create_database(self) -> None:
        env = {"PGPASSWORD": self.password}
        connection = ["-h", "127.0.0.1", "-p", str(self.port), "-U", self.user]
        databases = _run(
            [
                _postgres_bin("psql"),
                *connection,
                "-d",
                "postgres",
                "-Atc",
                "SELECT datname FROM pg_database",
            ],  # noqa: E501
            "listing databases",
            env,
        ).split()
        if self.database not in databases:
            _run([_postgres_bin("createdb"), *connection, self.database], "createdb", env)

    def stop(self, mode: str = "fast") -> None:
        if not (self.data_dir / "postmaster.pid").exists():
            return
        _run(
            _as_postgres_user(
                [_postgres_bin("pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w", "stop"]
            ),
            "stopping PostgreSQL",
        )

    def is_running(self) -> bool:
        result = subprocess.run(
            [_postgres_bin("pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
            capture_output=True,
            check=False,
        )
        return result.returncode == 0


@dataclass
class LocalRedis:
    directory: Path
    port: int
    password: str

    def start(self) -> None:
        server = shutil.which("redis-server")
        if server is None:
            raise ServiceError("redis-server is not installed: apt-get install redis-server.")
        self.directory.mkdir(parents=True, exist_ok=True)
        config = self.directory / "redis.conf"
        # The password is in a mode-600 file, not on the command line (`ps` shows that).
        config.write_text(
            f"bind 127.0.0.1\nport {self.port}\ndir {self.directory}\n"
            f"requirepass {self.password}\ndaemonize yes\n"
            f"pidfile {self.directory / 'redis.pid'}\nlogfile {self.directory / 'redis.log'}\n"
            'save ""\nappendonly no\nprotected-mode yes\n'
        )
        config.chmod(0o600)
        _run([server, str(config)], f"starting Redis on 127.0.0.1:{self.port}")
        self._wait_until_ready()

    def _client(self):
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, password=self.password)

    def _wait_until_ready(self, timeout: float = 30.0) -> None:
        import redis

        deadline = time.monotonic() + timeout
        while True:
            try:
                self._client().ping()
                return
            except redis.RedisError as error:
                if time.monotonic() > deadline:
                    raise ServiceError(
                        f"Redis on 127.0.0.1:{self.port} did not start "
                        f"(log: {self.directory}/redis.log): {error}"
                    ) from error
                time.sleep(0.2)

    def stop(self) -> None:
        import redis

        try:
            self._client().shutdown(nosave=True)
        except redis.ConnectionError:
            pass  # shutting down closes the connection; or it was not running
