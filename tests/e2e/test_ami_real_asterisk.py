"""The AMI client against a real Asterisk 22 (lab.asterisk.local.LocalAsterisk).

Login (and a refused one), ping, a CLI command and the dialplan reload confirmation as the
reload user, the service user refused everything beyond its least privilege, an Originate
Asterisk cannot place (the record is closed from OriginateResponse), and an Asterisk
restart: the client reconnects and reconciles.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agi.ami import AmiActionError, AmiClient, AmiLoginError
from masking.calls.click2call import prepare_click2call
from masking.service import MaskingService
from tests.support.ami import eventually as _eventually
from tests.support.calls import REASON, call_record, operator_call
from tests.support.clock import FakeClock
from tests.support.factories import seed_site

pytestmark = pytest.mark.e2e

CONTEXTS = ["masking-operator", "masking-click2call", "masking-inbound", "masking-deny"]


@pytest.fixture(scope="module")
def pbx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from lab.asterisk.local import LocalAsterisk

    instance = LocalAsterisk(tmp_path_factory.mktemp("asterisk"), log=lambda _m: None)
    try:
        instance.start()
    except Exception as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no local Asterisk: {exc}")
    yield instance
    instance.stop()


def client_for(pbx: object, service: MaskingService | None = None, **options: object) -> AmiClient:
    defaults: dict[str, object] = {
        "backoff_initial": 0.2,
        "backoff_max": 1.0,
        "boot_wait": 1.0,
        "username": pbx.ami_username,  # type: ignore[attr-defined]
        "secret": pbx.ami_secret,  # type: ignore[attr-defined]
    }
    defaults.update(options)
    return AmiClient(
        host="127.0.0.1",
        port=pbx.ports.ami_port,  # type: ignore[attr-defined]
        service=service,
        **defaults,  # type: ignore[arg-type]
    )


async def eventually(check: Callable[[], bool]) -> None:
    """A real Asterisk takes longer than the fake peer."""
    await _eventually(check, timeout=15.0)


async def test_login_ping_command_and_dialplan(pbx: object) -> None:
    reload_user = client_for(
        pbx,
        username=pbx.ami_reload_username,  # type: ignore[attr-defined]
        secret=pbx.ami_reload_secret,  # type: ignore[attr-defined]
    )
    async with reload_user as client:
        await client.ping()
        assert "Asterisk 22" in await client.command("core show version")
        live = await client.reload_dialplan_and_confirm([*CONTEXTS, "masking-no-such-context"])
    assert live == {**dict.fromkeys(CONTEXTS, True), "masking-no-such-context": False}


async def test_service_user_has_no_cli_or_config_access(pbx: object) -> None:
    """The service's AMI user (rendered from the least-privilege template) is refused
    CLI commands, configuration and channel control."""
    async with client_for(pbx) as client:
        await client.ping()
        with pytest.raises(AmiActionError):
            await client.command("core show version")
        for action in (
            {"Action": "GetConfig", "Filename": "manager.conf"},
            {"Action": "UpdateConfig", "SrcFilename": "x.conf", "DstFilename": "x.conf"},
            {"Action": "Reload", "Module": "pbx_config"},
            {"Action": "Hangup", "Channel": "PJSIP/desk1-00000001"},
            {"Action": "Setvar", "Variable": "MASKING_AGI", "Value": "agi://192.0.2.1"},
        ):
            with pytest.raises(AmiActionError, match=r"(?i)permission"):
                await client.send_action(action, as_list=False)


async def test_wrong_secret_is_refused(pbx: object) -> None:
    client = client_for(pbx)
    client.secret = "wrong"
    with pytest.raises(AmiLoginError):
        async with client:
            pass


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_originate_failure_reconnect_and_reconcile(
    pbx: object, service: MaskingService, clock: FakeClock, tmp_path: Path
) -> None:
    world = seed_site(service, pool=3, shipments=3)
    orphan = operator_call(service, world, "PVZ1-00000", "1700000000.1")
    clock.advance(minutes=2)
    client = client_for(pbx, service)
    await client.start()
    try:
        await client.wait_connected(10)
        # no channels in Asterisk: the orphan record is closed on connect
        await eventually(lambda: call_record(service, orphan).ended_at is not None)
        assert call_record(service, orphan).disposition == "failed"

        # an endpoint Asterisk does not know: queued, then OriginateResponse Failure
        call_id, endpoint = prepare_click2call(
            service, staff_id=world.owner_id, shipment_number="PVZ1-00001", reason=REASON
        )
        await client.originator.originate_click2call(
            call_id=call_id, endpoint=endpoint, label="Order PVZ1-00001"
        )
        await eventually(lambda: call_record(service, call_id).ended_at is not None)
        assert (
            call_record(service, call_id).disposition,
            call_record(service, call_id).status,
        ) == (
            "failed",
            "ended",
        )

        # restart Asterisk: the client notices, reconnects and reconciles again
        second = operator_call(service, world, "PVZ1-00002", "1700000000.2")
        clock.advance(minutes=2)
        await asyncio.to_thread(pbx.stop)  # type: ignore[attr-defined]
        await eventually(lambda: not client.connected)
        assert call_record(service, second).ended_at is None
        await asyncio.to_thread(pbx.start)  # type: ignore[attr-defined]
        await client.wait_connected(20)
        assert client.connections >= 2
        await eventually(lambda: call_record(service, second).ended_at is not None)
        await client.ping()
    finally:
        await client.close()
