"""Run SIPp scenarios (lab/scenarios, shared by the demo and the e2e tests).

A :class:`Sipp` is one SIPp process on its own free UDP ports (signalling and media), with
``-trace_msg`` and ``-trace_err`` written into a work directory. :meth:`Sipp.wait` returns a
:class:`SippResult` holding the exit code and the parsed messages, so a test can say "the
carrier received an INVITE for sip:79001234567@..., whose From carries the virtual
number" or "no INVITE reached the carrier".
"""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

SCENARIOS = Path(__file__).resolve().parent / "scenarios"
PCAP_G711A = Path("/usr/share/sip-tester/g711a.pcap")
_SEPARATOR = re.compile(r"^-{20,}\s*(.*)$")


class SippError(RuntimeError):
    pass


def sipp_binary() -> str:
    path = shutil.which("sipp")
    if path is None:
        raise SippError("SIPp is not installed: apt-get install sip-tester")
    return path


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def udp_bound(port: int) -> bool:
    """Some socket is bound to UDP ``port`` (read from /proc/net/udp: probing by binding
    the port ourselves could make the process about to bind it fail)."""
    suffix = f":{port:04X}"
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        if any(line.split()[1].endswith(suffix) for line in lines if len(line.split()) > 1):
            return True
    return False


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_media_port() -> int:
    """An even UDP port p with p..p+3 free (RTP, RTCP and SIPp's echo of both)."""
    for _ in range(200):
        base = free_udp_port() & ~1
        if base < 60000 and all(_bindable(base + i) for i in range(4)):
            return base
    raise SippError("no free media port range")


@dataclass
class SipMessage:
    direction: str  # "received" or "sent"
    timestamp: float
    start_line: str
    headers: list[tuple[str, str]]
    body: str

    @property
    def is_request(self) -> bool:
        return not self.start_line.startswith("SIP/2.0")

    @property
    def method(self) -> str | None:
        return self.start_line.split(" ", 1)[0] if self.is_request else None

    @property
    def request_uri(self) -> str | None:
        parts = self.start_line.split(" ")
        return parts[1] if self.is_request and len(parts) > 1 else None

    @property
    def status(self) -> int | None:
        if self.is_request:
            return None
        try:
            return int(self.start_line.split(" ")[1])
        except (IndexError, ValueError):
            return None

    @property
    def cseq_method(self) -> str | None:
        value = self.header("CSeq")
        return value.split()[-1] if value else None

    def header(self, name: str) -> str | None:
        values = self.header_all(name)
        return values[0] if values else None

    def header_all(self, name: str) -> list[str]:
        wanted = {name.lower(), _COMPACT.get(name.lower(), name.lower())}
        return [value for key, value in self.headers if key.lower() in wanted]

    def __str__(self) -> str:
        lines = [self.start_line, *(f"{k}: {v}" for k, v in self.headers)]
        return "\n".join(lines)


# compact header forms (RFC 3261 7.3.3)
_COMPACT = {"from": "f", "to": "t", "call-id": "i", "via": "v", "contact": "m", "cseq": "cseq"}


def parse_message_log(text: str) -> list[SipMessage]:
    messages: list[SipMessage] = []
    chunks: list[tuple[str, list[str]]] = []
    current: list[str] | None = None
    stamp = ""
    for line in text.splitlines():
        match = _SEPARATOR.match(line)
        if match:
            current = []
            stamp = match.group(1)
            chunks.append((stamp, current))
        elif current is not None:
            current.append(line)
    for stamp, lines in chunks:
        while lines and not lines[0].strip():
            lines.pop(0)
        if not lines:
            continue
        kind = lines.pop(0).lower()
        direction = "received" if "received" in kind else "sent" if "sent" in kind else ""
        if not direction:
            continue
        while lines and not lines[0].strip():
            lines.pop(0)
        if not lines:
            continue
        start = lines.pop(0).strip()
        headers: list[tuple[str, str]] = []
        body_lines: list[str] = []
        in_body = False
        for line in lines:
            if in_body:
                body_lines.append(line)
            elif not line.strip():
                in_body = True
            elif ":" in line:
                key, value = line.split(":", 1)
                headers.append((key.strip(), value.strip()))
        try:
            timestamp = datetime.fromisoformat(stamp.strip()).timestamp()  # SIPp: local date time
        except (IndexError, ValueError):
            timestamp = 0.0
        messages.append(
            SipMessage(direction, timestamp, start, headers, "\n".join(body_lines).strip())
        )
    return messages


@dataclass
class SippResult:
    returncode: int
    messages: list[SipMessage]
    errors: str
    output: str
    duration: float
    command: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def received(self) -> list[SipMessage]:
        return [m for m in self.messages if m.direction == "received"]

    @property
    def sent(self) -> list[SipMessage]:
        return [m for m in self.messages if m.direction == "sent"]

    def requests(self, method: str) -> list[SipMessage]:
        """Requests of this method that SIPp received."""
        return [m for m in self.received if m.method == method]

    def responses(self, method: str = "INVITE") -> list[SipMessage]:
        """Responses SIPp received to its requests of this method."""
        return [m for m in self.received if m.status is not None and m.cseq_method == method]

    @property
    def invites(self) -> list[SipMessage]:
        return self.requests("INVITE")

    def describe(self) -> str:
        lines = [
            f"sipp exit {self.returncode} after {self.duration:.1f} s: {' '.join(self.command)}"
        ]
        lines += [f"  {m.direction:8} {m.start_line}" for m in self.messages]
        if self.errors.strip():
            lines.append("errors:\n" + self.errors.strip()[-2000:])
        if self.returncode != 0 and self.output.strip():
            lines.append("output:\n" + self.output.strip()[-1500:])
        return "\n".join(lines)


class Sipp:
    """One SIPp process. UAC: give ``remote`` ("127.0.0.1:5060") and ``service`` (the
    number to dial). UAS: no remote; it listens on :attr:`port`."""

    def __init__(
        self,
        scenario: str | Path,
        workdir: Path,
        *,
        remote: str | None = None,
        service: str | None = None,
        username: str | None = None,
        password: str | None = None,
        from_user: str | None = None,
        keys: dict[str, str] | None = None,
        port: int | None = None,
        media_port: int | None = None,
        rtp_echo: bool = False,
        calls: int = 1,
        timeout: float = 30.0,
        name: str | None = None,
    ) -> None:
        path = Path(scenario)
        if not path.is_absolute() and not path.exists():
            path = SCENARIOS / (path.name if path.suffix else f"{path.name}.xml")
        if not path.exists():
            raise SippError(f"no scenario {scenario}")
        self.scenario = path
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.remote = remote
        self.service = service
        self.username = username
        self.password = password
        self.from_user = from_user or username or "sipp"
        self.keys = dict(keys or {})
        self.port = port or free_udp_port()
        self.media_port = media_port or free_media_port()
        self.rtp_echo = rtp_echo
        self.calls = calls
        self.timeout = timeout
        self.name = name or f"{path.stem}-{self.port}"
        self.message_file = self.workdir / f"{self.name}.messages.log"
        self.error_file = self.workdir / f"{self.name}.errors.log"
        self.output_file = self.workdir / f"{self.name}.out"
        self.process: subprocess.Popen[bytes] | None = None
        self._started = 0.0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        argv = [sipp_binary(), "-sf", str(self.scenario)]
        if self.remote:
            argv.append(self.remote)
        argv += [
            "-i",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-mi",
            "127.0.0.1",
            "-mp",
            str(self.media_port),
            "-m",
            str(self.calls),
            "-nostdin",
            "-trace_msg",
            "-message_file",
            str(self.message_file),
            "-trace_err",
            "-error_file",
            str(self.error_file),
            "-timeout",
            f"{int(self.timeout)}s",
            "-timeout_error",
            "-key",
            "from_user",
            self.from_user,
        ]
        if self.service:
            argv += ["-s", self.service]
        if self.username:
            argv += ["-au", self.username]
        if self.password:
            argv += ["-ap", self.password]
        if self.rtp_echo:
            argv.append("-rtp_echo")
        for key, value in self.keys.items():
            argv += ["-key", key, value]
        return argv

    def start(self) -> Sipp:
        for path in (self.message_file, self.error_file):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        self._started = time.monotonic()
        with open(self.output_file, "wb") as out:
            self.process = subprocess.Popen(
                self.command(),
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def listening(self, timeout: float = 5.0) -> Sipp:
        """Wait until this SIPp has bound its SIP port (a UAS: from then on what is sent
        to it waits in its socket), or has exited, or ``timeout`` passed (its result
        tells). Replaces a fixed pause before the first request reaches it."""
        deadline = time.monotonic() + timeout
        while not udp_bound(self.port):
            if self.process is None or self.process.poll() is not None:
                break
            if time.monotonic() > deadline:
                break
            time.sleep(0.01)
        return self

    def wait(self, timeout: float | None = None) -> SippResult:
        """Wait for SIPp to finish (killing it after ``timeout``) and collect the result."""
        if self.process is None:
            raise SippError("not started")
        try:
            code = self.process.wait(timeout=timeout or self.timeout + 5)
        except subprocess.TimeoutExpired:
            self.stop()
            code = self.process.wait()
        return self.result(code)

    def result(self, code: int) -> SippResult:
        def read(path: Path) -> str:
            try:
                return path.read_text(errors="replace")
            except OSError:
                return ""

        return SippResult(
            returncode=code,
            messages=parse_message_log(read(self.message_file)),
            errors=read(self.error_file),
            output=read(self.output_file),
            duration=time.monotonic() - self._started,
            command=self.command(),
        )

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(sig)
            try:
                self.process.wait(timeout=3)
                return
            except subprocess.TimeoutExpired:
                continue

    def run(self, timeout: float | None = None) -> SippResult:
        return self.start().wait(timeout)

    def __enter__(self) -> Sipp:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
