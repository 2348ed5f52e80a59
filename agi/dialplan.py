"""Static checks of the shipped dialplan against the service's contract (``masking
dialplan check``; ``install`` copies only a dialplan that passes).

The contract (channel variable names) lives in :mod:`agi.variables`; the dialplan mirrors
it in ``dialplan/masking-contract.conf``. These checks catch a renamed variable, an
``AGI()`` (or a request through ``masking-sub-agi``) without an ``AGISTATUS`` branch,
an ``AGI()`` outside ``masking-sub-agi`` (which tries every server of the list), one
that does not send the shared secret or number its request, unfiltered caller input in
an application's arguments and unbalanced brackets,
before Asterisk ever loads the file; and that the AMI users of ``manager.sample.conf``
(:func:`check_manager`) have no more privilege than the service needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import dialplan
from agi import variables

# The dialplan shipped with the package (the repository's dialplan/ folder).
DIALPLAN_DIR = dialplan.DIRECTORY
REQUIRED_CONTEXTS = (
    "masking-operator",
    "masking-inbound",
    "masking-click2call",
    "masking-hotline",
    "masking-deny",
    "masking-sub-agi",
)
# the one context that runs AGI(): it tries every server of MASKING_AGI_SERVERS in turn
ASK_CONTEXT = "masking-sub-agi"
ASK_SERVICE = f"Gosub({ASK_CONTEXT},s,1("
FILES = ("masking.conf", "masking-globals.conf", "masking-contract.conf")
MANAGER_SAMPLE = "manager.sample.conf"
AGI_SECRET_QUERY = "?secret=${MASKING_AGI_SECRET}&"  # noqa: S105 - a dialplan reference
# which server of the list a request goes to: a repeated request is checked (agi.routes)
AGI_ATTEMPT_QUERY = "&attempt=${attempt},"
# AMI classes (manager.conf read= / write=). The service user originates and asks for
# reports; a user without "originate" may only reload (command) and confirm (reporting).
# No event class beyond these is read by anyone: "dialplan" (VarSet) would carry
# MASKING_DIAL_NUMBER, "all" / "config" / "system" reach far beyond calls.
SERVICE_WRITE = frozenset({"originate", "reporting"})
RELOAD_WRITE = frozenset({"command", "reporting"})
ALLOWED_READ = frozenset({"system", "call", "user"})
_VAR = re.compile(r"\b(_{0,2}MASKING_[A-Z0-9_]+)\b")
_CONTEXT = re.compile(r"^\[([A-Za-z0-9_-]+)\]")
_RAW_INPUT = re.compile(r"\$\{(EXTEN|CALLERID\([^)]*\))\}")
_FILTERED = re.compile(r"FILTER\([^,()]*,$")
_SENSITIVE_APPS = re.compile(r"\b(AGI|Dial|MixMonitor|System|TrySystem|Goto|Gosub)\(")


@dataclass
class CheckReport:
    contexts: list[str] = field(default_factory=list)
    agi_calls: int = 0
    # Gosub(masking-sub-agi,...): the entry contexts asking the service
    service_requests: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _strip_comment(line: str) -> str:
    out, escaped = [], False
    for char in line:
        if char == ";" and not escaped:
            break
        escaped = char == "\\" and not escaped
        out.append(char)
    return "".join(out).rstrip()


def _listed(text: str, marker: str) -> set[str]:
    names: set[str] = set()
    for line in text.splitlines():
        if marker in line:
            names.update(_VAR.findall(line.split(marker, 1)[1]))
    return names


def _block(text: str, heading: str) -> set[str]:
    """Variable names in the comment paragraph that starts with ``heading``."""
    names: set[str] = set()
    inside = False
    for line in text.splitlines():
        body = line.lstrip("; ").strip()
        if body.startswith(heading):
            inside = True
        elif inside and not body:
            break
        if inside:
            names.update(_VAR.findall(body))
    return names


def check(directory: Path) -> CheckReport:
    report = CheckReport()
    missing = [name for name in FILES if not (directory / name).is_file()]
    if missing:
        report.errors.append(f"{directory}: missing {', '.join(missing)}")
        return report
    dialplan = (directory / "masking.conf").read_text()
    contract_text = (directory / "masking-contract.conf").read_text()
    globals_text = (directory / "masking-globals.conf").read_text()

    contract = _listed(contract_text, "contract-variable:")
    expected = set(variables.ALL)
    if contract != expected:
        if expected - contract:
            report.errors.append(
                "masking-contract.conf lacks " + ", ".join(sorted(expected - contract))
            )
        if contract - expected:
            report.errors.append(
                "masking-contract.conf lists unknown " + ", ".join(sorted(contract - expected))
            )
    defined_globals = {
        line.split("=", 1)[0].strip()
        for line in map(_strip_comment, globals_text.splitlines())
        if "=" in line
    }
    internal = _block(contract_text, "Internal to the dialplan")
    known = expected | defined_globals | internal

    lines = dialplan.splitlines()
    current = ""
    for number, raw in enumerate(lines, start=1):
        line = _strip_comment(raw)
        if not line.strip():
            continue
        context = _CONTEXT.match(line)
        if context:
            current = context[1]
            report.contexts.append(current)
            continue
        for name in _VAR.findall(line):
            if name.lstrip("_") not in known:
                report.errors.append(f"masking.conf:{number}: {name} is not in the contract")
        if line.count("(") != line.count(")") or line.count("{") != line.count("}"):
            report.errors.append(f"masking.conf:{number}: unbalanced brackets")
        if _SENSITIVE_APPS.search(line):
            for match in _RAW_INPUT.finditer(line):
                if not _FILTERED.search(line[: match.start()]):
                    report.errors.append(
                        f"masking.conf:{number}: {match[0]} used unfiltered in an application"
                    )
        asks = ASK_SERVICE in line
        if re.search(r"\bAGI\(", line):
            report.agi_calls += 1
            if AGI_SECRET_QUERY not in line:
                report.errors.append(
                    f"masking.conf:{number}: AGI() does not send {AGI_SECRET_QUERY.rstrip('&')}"
                )
            if AGI_ATTEMPT_QUERY not in line:
                report.errors.append(
                    f"masking.conf:{number}: AGI() does not number its request "
                    f"({AGI_ATTEMPT_QUERY.rstrip(',')})"
                )
            if current != ASK_CONTEXT:
                report.errors.append(
                    f"masking.conf:{number}: AGI() outside [{ASK_CONTEXT}]: ask through "
                    f"{ASK_SERVICE}...) so that every server is tried"
                )
        if asks:
            report.service_requests += 1
        if asks or re.search(r"\bAGI\(", line):
            following = " ".join(_strip_comment(x) for x in lines[number : number + 2])
            if "AGISTATUS" not in following:
                what = "AGI()" if not asks else ASK_SERVICE + "...)"
                report.errors.append(
                    f"masking.conf:{number}: {what} is not followed by a branch on AGISTATUS"
                )
    for required in REQUIRED_CONTEXTS:
        if required not in report.contexts:
            report.errors.append(f"masking.conf: context [{required}] is missing")
    if (directory / MANAGER_SAMPLE).is_file():
        report.errors.extend(check_manager(directory / MANAGER_SAMPLE))
    return report


def _classes(value: str) -> set[str]:
    return {part.strip().lower() for part in value.split(",") if part.strip()}


def check_manager(path: Path) -> list[str]:
    """Least privilege of every AMI user in a manager.conf (or a template of one)."""
    users: dict[str, dict[str, str]] = {}
    section = ""
    for raw in path.read_text().splitlines():
        line = _strip_comment(raw).strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line[1 : line.index("]")] if "]" in line else line
            if section != "general":
                users.setdefault(section, {})
            continue
        key, sep, value = line.partition("=")
        if sep and section and section != "general":
            users[section][key.strip().lower()] = value.strip()
    errors: list[str] = []
    if not users:
        errors.append(f"{path.name}: no AMI user")
    for name, options in users.items():
        where = f"{path.name} [{name}]"
        if "read" not in options or "write" not in options:
            errors.append(f"{where}: read and write must be set (the default is everything)")
        if "deny" not in options or "permit" not in options:
            errors.append(f"{where}: needs deny and permit (which hosts may log in)")
        read, write = _classes(options.get("read", "")), _classes(options.get("write", ""))
        allowed = SERVICE_WRITE if "originate" in write else RELOAD_WRITE
        if write - allowed:
            errors.append(f"{where}: write grants {', '.join(sorted(write - allowed))}")
        if read - ALLOWED_READ:
            errors.append(f"{where}: read grants {', '.join(sorted(read - ALLOWED_READ))}")
    return errors
