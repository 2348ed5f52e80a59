"""The lab's child processes (SIPp, redis-server, masking serve, Asterisk, builds):
stopping them, and the end of their logs for an error message."""

from __future__ import annotations

import contextlib
import signal
import subprocess
from pathlib import Path


def stop_process(process: subprocess.Popen[bytes] | None, grace: float = 3.0) -> None:
    """SIGTERM, then SIGKILL if it has not exited within ``grace`` seconds; reaped."""
    if process is None or process.poll() is not None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(sig)
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def tail(path: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of a log, or ``(no log)`` when it cannot be read."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
