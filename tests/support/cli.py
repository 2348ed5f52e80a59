"""Running ``masking`` verbs in-process (Typer's runner) on the settings a test chose."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from masking.cli.main import app
from masking.config import get_settings

runner = CliRunner()

# what a verb may change: compared before and after a refused call
TABLES = ("sites", "site_exceptions", "staff", "shipments", "virtual_numbers", "bindings")


def invoke(*args: str, stdin: str | None = None) -> tuple[int, str]:
    """``masking *args``: the exit code and everything printed (and an unexpected error)."""
    result = runner.invoke(app, list(args), input=stdin)
    output = result.output + (result.stderr if result.stderr_bytes else "")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        output += f"\n{type(result.exception).__name__}: {result.exception}"
    return result.exit_code, output


def use_environment(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    """Set ``MASKING_<NAME>`` for each value and forget the settings read before."""
    for name, value in values.items():
        monkeypatch.setenv(f"MASKING_{name.upper()}", value)
    get_settings.cache_clear()


def snapshot(url: str) -> dict[str, list[tuple[object, ...]]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        data = {
            t: sorted(map(tuple, conn.execute(text(f"SELECT * FROM {t}")).all()), key=str)
            for t in TABLES
        }
    engine.dispose()
    return data


class Cli:
    """``masking`` on the database at ``url``: ``cli("site", "list")`` returns the output
    and asserts success; ``ok=False`` asserts a one-line error and a non-zero exit."""

    def __init__(self, url: str) -> None:
        self.url = url

    def __call__(self, *args: str, ok: bool = True, stdin: str | None = None) -> str:
        code, output = invoke(*args, stdin=stdin)
        if ok:
            assert code == 0, output
        else:
            assert code != 0, output
            assert "error:" in output
            assert "Traceback" not in output
        return output

    def snapshot(self) -> dict[str, list[tuple[object, ...]]]:
        return snapshot(self.url)
