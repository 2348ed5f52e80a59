"""``masking staff disable / enable / set-password`` and the password minimum."""

from __future__ import annotations

import json

from sqlalchemy import create_engine, text

from masking import accounts
from masking.storage.db import Database
from tests.support.cli import Cli, invoke


def _active(cli: Cli, login: str) -> bool:
    rows = json.loads(cli("staff", "list", "--json"))
    return next(bool(row["active"]) for row in rows if row["login"] == login)


def _password_hash(cli: Cli, login: str) -> str | None:
    engine = create_engine(cli.url)
    with engine.connect() as conn:
        stored = conn.execute(
            text("SELECT password_hash FROM staff WHERE login = :login"), {"login": login}
        ).scalar()
    engine.dispose()
    return stored


def test_disable_and_enable_switch_the_token_off_and_on(seeded: Cli) -> None:
    token = seeded("staff", "token", "eve").strip()
    db = Database(seeded.url)
    assert "disabled" in seeded("staff", "disable", "eve")
    assert not _active(seeded, "eve")
    with db.session() as session:
        assert accounts.staff_by_token(session, token) is None
    seeded("staff", "enable", "eve")
    assert _active(seeded, "eve")
    with db.session() as session:
        assert accounts.staff_by_token(session, token) is not None
    db.dispose()
    assert "no staff member 'nobody'" in seeded("staff", "disable", "nobody", ok=False)


def test_set_password_from_stdin_or_a_prompt_never_argv(seeded: Cli) -> None:
    seeded("staff", "set-password", "ann", "--password-stdin", stdin="correct horse battery\n")
    assert accounts.check_password("correct horse battery", _password_hash(seeded, "ann"))
    seeded("staff", "set-password", "ann", stdin="prompted password\nprompted password\n")
    assert accounts.check_password("prompted password", _password_hash(seeded, "ann"))
    before = _password_hash(seeded, "ann")
    short = seeded("staff", "set-password", "ann", "--password-stdin", stdin="short\n", ok=False)
    assert "password: use at least 12 characters" in short
    assert _password_hash(seeded, "ann") == before
    code, out = invoke("staff", "set-password", "ann", "--password", "x" * 20)
    assert code != 0 and "No such option" in out


def test_staff_add_refuses_a_short_password(seeded: Cli) -> None:
    before = seeded.snapshot()
    out = seeded("staff", "add", "bob", "--role", "admin", "--password", "tooshort", ok=False)
    assert "password: use at least 12 characters" in out
    assert seeded.snapshot() == before
    seeded("staff", "add", "bob", "--role", "admin", "--password-stdin", stdin="long enough pw\n")
    assert accounts.check_password("long enough pw", _password_hash(seeded, "bob"))
