"""The Asterisk configs we ship for production keep customer numbers out of log files.

Asterisk's VERBOSE trace prints each dialplan application with its arguments, so the
Dial string (the customer's number) would be written on every masked call.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def logfiles(path: Path) -> dict[str, set[str]]:
    channels: dict[str, set[str]] = {}
    section = ""
    for raw in path.read_text().splitlines():
        line = raw.split(";", 1)[0].strip()
        if line.startswith("["):
            section = line.strip("[]")
        elif section == "logfiles" and "=>" in line:
            name, levels = (part.strip() for part in line.split("=>", 1))
            channels[name] = {level.strip().lower() for level in levels.split(",")}
    return channels


def test_production_logger_keeps_the_verbose_trace_out_of_every_log() -> None:
    channels = logfiles(ROOT / "docker" / "asterisk" / "logger.conf")
    assert channels, "no [logfiles] channels found"
    for name, levels in channels.items():
        assert not any(level.startswith(("verbose", "debug", "*")) for level in levels), name


def test_the_check_sees_a_verbose_channel(tmp_path: Path) -> None:
    conf = tmp_path / "logger.conf"
    conf.write_text("[logfiles]\nmessages.log => notice,warning,error,verbose ; trace\n")
    assert "verbose" in logfiles(conf)["messages.log"]
