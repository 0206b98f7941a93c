"""`shopdesk retrain` started from the review app: in the background, one at a time.

Training takes minutes to tens of minutes, longer than any request, so the review app starts
it as a subprocess and shows its log. Everything lives in one folder (`.shopdesk/
review-retrain/`), so every worker of the review app, and the app after a restart, sees the
same run:

- `lock`: held (flock) by the running process tree itself, so "is one running?" is true
  exactly while it lives, across workers, with no stale lock after a crash;
- `run.json`: the latest run (who started it, when, the command, its log);
- `<stamp>.log`: the command's output; `<stamp>.exit`: its exit status, written by the shell
  that wraps it as it ends (also when the app that started it is gone).

`shopdesk retrain` exits 0 when it promoted the candidate, 3 when it kept it aside.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.settings import PROJECT_ROOT

# Runs the command (the wrapper's arguments), then writes its exit status atomically to the
# file $SHOPDESK_RETRAIN_EXIT names, so the result survives whoever started it.
WRAPPER = (
    'code=0; "$@" || code=$?; out="$SHOPDESK_RETRAIN_EXIT"; '
    'echo "$code" > "$out.tmp" && mv "$out.tmp" "$out"; exit "$code"'
)
EXIT_MEANINGS = {0: "promoted", 3: "not promoted"}
DECISION_PREFIXES = ("Promoted", "Not promoted")
TAIL_LINES = 40


class RetrainBusy(RuntimeError):
    """A retrain is already running; a second one would train on and promote into the same
    folders at once."""


@dataclass(frozen=True)
class RetrainRun:
    stamp: str
    started_at: float  # epoch seconds
    started_by: str
    command: tuple[str, ...]
    log: Path
    exit_code: int | None  # None while running, or when it ended without saying (killed)
    ended_at: float | None
    running: bool

    @property
    def outcome(self) -> str:
        """running, promoted, not promoted, failed, or interrupted (ended with no status)."""
        if self.running:
            return "running"
        if self.exit_code is None:
            return "interrupted"
        return EXIT_MEANINGS.get(self.exit_code, "failed")

    def elapsed(self, now: float | None = None) -> float:
        end = self.ended_at if self.ended_at is not None else (now or time.time())
        return max(0.0, end - self.started_at)

    def tail(self, lines: int = TAIL_LINES) -> str:
        """The log's last lines (the newest progress, or the result table at the end)."""
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def decision(self) -> str | None:
        """`shopdesk retrain`'s own words on promotion, from its log (None before it decides)."""
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
        found = [line.strip() for line in text.splitlines() if line.startswith(DECISION_PREFIXES)]
        return found[-1] if found else None


class RetrainJobs:
    """Starts `command` (shopdesk retrain) in the background and reads back how it goes."""

    def __init__(self, folder: Path, command: Sequence[str], cwd: Path = PROJECT_ROOT) -> None:
        self.folder = folder
        self.command = tuple(command)
        self.cwd = cwd

    @property
    def _lock_path(self) -> Path:
        return self.folder / "lock"

    def _try_lock(self, shared: bool = False, attempts: int = 5) -> int | None:
        """A file descriptor holding the lock, or None while a run holds it. Peeking takes
        it shared, so peekers never block each other; starting takes it exclusive and tries a
        few times, since a peek may hold it this very instant."""
        self.folder.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
        for attempt in range(attempts):
            try:
                fcntl.flock(descriptor, mode | fcntl.LOCK_NB)
                return descriptor
            except BlockingIOError:
                if attempt + 1 < attempts:
                    time.sleep(0.02 * (attempt + 1))
        os.close(descriptor)
        return None

    def is_running(self) -> bool:
        if not self._lock_path.exists():
            return False  # never started here (and nothing created by asking)
        descriptor = self._try_lock(shared=True, attempts=1)
        if descriptor is None:
            return True
        os.close(descriptor)  # closing releases the flock
        return False

    def start(self, who: str, extra_args: Sequence[str] = ()) -> RetrainRun:
        """Start a run unless one is running (RetrainBusy)."""
        descriptor = self._try_lock()
        if descriptor is None:
            raise RetrainBusy("A retrain is already running; wait for it to end.")
        try:
            stamp = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}"
            command = (*self.command, *extra_args)
            log, exit_file = self.folder / f"{stamp}.log", self.folder / f"{stamp}.exit"
            record = {"stamp": stamp, "started_at": time.time(), "started_by": who}
            record |= {"command": list(command), "log": log.name}
            temporary = self.folder / "run.json.tmp"
            temporary.write_text(json.dumps(record), encoding="utf-8")
            temporary.replace(self.folder / "run.json")
            # Unbuffered and wide: progress reaches the log as it happens, tables unwrapped.
            env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200", "TERM": "dumb"}
            env["SHOPDESK_RETRAIN_EXIT"] = str(exit_file)
            with log.open("wb") as output:
                try:
                    process = subprocess.Popen(
                        ["/bin/sh", "-c", WRAPPER, "shopdesk-retrain", *command],
                        cwd=self.cwd,
                        stdin=subprocess.DEVNULL,
                        stdout=output,
                        stderr=subprocess.STDOUT,
                        env=env,
                        pass_fds=(descriptor,),  # the run holds the lock while it lives
                        start_new_session=True,  # and outlives a restart of the review app
                    )
                except OSError as error:
                    output.write(f"could not start {command[0]}: {error}\n".encode())
                    exit_file.write_text("127\n", encoding="utf-8")
                    return self.latest()  # type: ignore[return-value]
            # Reap it when it ends, so no zombie is left behind in this process.
            threading.Thread(target=process.wait, daemon=True).start()
        finally:
            os.close(descriptor)
        return self.latest()  # type: ignore[return-value]

    def latest(self) -> RetrainRun | None:
        """The latest run as it stands now, or None if none was ever started here."""
        try:
            record = json.loads((self.folder / "run.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        exit_file = self.folder / f"{record['stamp']}.exit"
        exit_code, ended_at = None, None
        try:
            exit_code = int(exit_file.read_text(encoding="utf-8").strip())
            ended_at = exit_file.stat().st_mtime
        except (OSError, ValueError):
            pass
        return RetrainRun(
            stamp=record["stamp"],
            started_at=float(record["started_at"]),
            started_by=str(record["started_by"]),
            command=tuple(record["command"]),
            log=self.folder / Path(record["log"]).name,
            exit_code=exit_code,
            ended_at=ended_at,
            running=exit_code is None and self.is_running(),
        )
