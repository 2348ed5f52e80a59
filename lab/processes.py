"""Stopping the lab's child processes (SIPp, redis-server, masking serve)."""

from __future__ import annotations

import contextlib
import signal
import subprocess


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
