"""``masking demo``: a real masked call on this machine, from nothing.

Brings up what is missing (schema, Redis check, Asterisk 22 in a root filesystem), starts
the service on the embedded defaults, seeds a demo site, staff, pool and shipment,
reveals a temporary number, and lets a simulated desk phone (SIPp) call it. A simulated
carrier (SIPp, echoing the audio) stands in for the customer's network. Then it prints
what the customer saw, what was really dialed (masked), the call record and the
recording.
"""

from __future__ import annotations

import json
import logging
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import redis
import typer
from sqlalchemy import select

from lab.asterisk.local import free_port, port_bindable
from masking import accounts, redis_client, shipments, sites
from masking.cli.common import fail, settings
from masking.config import Settings
from masking.numbers import bindings
from masking.numbers.phones import mask_number
from masking.reveal import reveal_number
from masking.service import MaskingService
from masking.storage.models import CallRecord, Shipment, Site

SITE = "demo"
OWNER = "demo-owner"
OWNER_PASSWORD = "demo-password"  # noqa: S105 - the demo's console login, printed on screen
SHIPMENT = "DEMO-0001"
CUSTOMER = "+79001234567"
POOL = ("+74955550001", "+74955550002", "+74955550003")
DESK_PASSWORD = "desk1-secret"  # noqa: S105 - the simulated desk phone's SIP password


class DemoFailed(Exception):
    pass


def _ensure_redis(s: Settings) -> str:
    client = redis_client.connect(s, timeout=1)
    try:
        client.ping()
        return f"{redis_client.describe(s)} answers"
    except redis.RedisError:
        pass
    if (
        s.redis_sentinels
        or not s.redis_url.startswith("redis://127.0.0.1")
        or not _which("redis-server")
    ):
        raise DemoFailed(f"{redis_client.describe(s)} does not answer; start it (./dev demo does)")
    data = s.var_dir / "redis"
    data.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "redis-server",
            "--daemonize",
            "yes",
            "--bind",
            "127.0.0.1",
            "--port",
            "6379",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(data),
            "--logfile",
            str(data / "redis.log"),
        ],
        check=True,
    )
    for _ in range(50):
        try:
            client.ping()
            return "Redis started on 127.0.0.1:6379"
        except redis.RedisError:
            time.sleep(0.1)
    raise DemoFailed("Redis did not start; see var/redis/redis.log")


def _which(name: str) -> bool:
    import shutil

    return shutil.which(name) is not None


def _seed(service: MaskingService) -> None:
    with service.db.session() as session:
        site = session.scalar(select(Site).where(Site.code == SITE))
        if site is None:
            site = sites.create_site(
                session,
                code=SITE,
                name="Demo pickup point",
                timezone="Europe/Moscow",
                region="RU",
                hours="daily 00:00-24:00",
                ring_endpoints=["desk1"],
            )
            accounts.add_staff(
                session,
                login=OWNER,
                role="owner",
                site=site,
                endpoint="desk1",
                name="Demo owner",
                password=OWNER_PASSWORD,
            )
            accounts.add_staff(
                session,
                login="demo-employee",
                role="employee",
                site=site,
                endpoint="desk2",
                name="Demo employee",
                password=OWNER_PASSWORD,
            )
        sites.resume(site)
        if not session.scalar(
            select(Shipment).where(
                Shipment.site_id == site.id, Shipment.external_number == SHIPMENT
            )
        ):
            shipments.add_shipment(session, site, SHIPMENT, CUSTOMER)
    bindings.add_pool_numbers(service, list(POOL), "RU")


def masked_call(
    service: MaskingService,
    *,
    sip_address: str,
    carrier_port: int,
    workdir: Path,
    recordings_dir: Path,
    step: Callable[[str, str], None],
    result: dict[str, Any],
) -> None:
    """The demo's call, on a running service and Asterisk (the lab's, or the compose
    stack's: lab/stack.py): seed the demo site, reveal a temporary number, let desk1
    (SIPp) dial it while a SIPp carrier answers, check the call record and recording.
    ``result`` gets what the customer saw, what was dialed (masked), the record."""
    from lab.sipp import Sipp

    _seed(service)
    with service.db.session() as session:
        owner_id = accounts.get_staff(session, OWNER).id
    revealed = reveal_number(
        service,
        staff_id=owner_id,
        shipment_number=SHIPMENT,
        reason="item_found_later",
        channel="demo",
    )
    vn = revealed.virtual_number
    step(
        "reveal",
        f"shipment {SHIPMENT} -> temporary number {vn} "
        f"until {revealed.expires_at:%Y-%m-%d %H:%M} UTC",
    )
    result["temporary_number"] = vn

    carrier = Sipp("carrier_uas", workdir, port=carrier_port, rtp_echo=True, timeout=30)
    carrier.start().listening()
    try:
        desk = Sipp(
            "desk_uac",
            workdir,
            remote=sip_address,
            service=vn.lstrip("+"),
            username="desk1",
            password=DESK_PASSWORD,
            timeout=30,
        ).run()
        carrier_result = carrier.wait(15)
    finally:
        carrier.stop()
    if not desk.ok or not carrier_result.invites:
        raise DemoFailed("the call did not go through:\n" + desk.describe())
    invite = carrier_result.invites[0]
    dialed_user = (invite.request_uri or "").split(":", 1)[-1].split("@", 1)[0]
    result["customer_saw"] = {
        "from": invite.header("From"),
        "p_asserted_identity": invite.header("P-Asserted-Identity"),
    }
    result["really_dialed"] = mask_number("+" + dialed_user)
    step(
        "call",
        f"desk1 dialed {vn}; the carrier was asked for "
        f"{result['really_dialed']}; the customer sees {invite.header('From')}",
    )

    record = _wait_record(service)
    path = recordings_dir / (record.recording_file or "")
    result["call_record"] = {
        "id": record.id,
        "direction": record.direction,
        "disposition": record.disposition,
        "reason": record.reason_code,
        "started_at": record.started_at.isoformat(),
        "answered_at": record.answered_at.isoformat() if record.answered_at else None,
        "ended_at": record.ended_at.isoformat() if record.ended_at else None,
        "bridged_seconds": record.bridged_seconds,
    }
    result["recording"] = {
        "file": str(path),
        "bytes": record.recording_bytes,
        "error": record.recording_error,
    }
    step("call record", f"{record.id}: {record.disposition}, {record.bridged_seconds} s bridged")
    if not record.recording_bytes:
        raise DemoFailed(f"no recording: {record.recording_error or 'unknown'}")
    step("recording", f"{path} ({record.recording_bytes} bytes)")
    if record.disposition != "answered":
        raise DemoFailed(f"the call ended {record.disposition}")


def run_demo(s: Settings, *, keep_running: bool, say: Any) -> dict[str, Any]:
    from lab.asterisk import LocalAsterisk, Phone, Ports, ensure_rootfs
    from masking.runtime import RuntimeThread

    result: dict[str, Any] = {"steps": []}

    def step(name: str, detail: str = "") -> None:
        result["steps"].append({"step": name, "ok": True, "detail": detail})
        say(f"  ok  {name}" + (f": {detail}" if detail else ""))

    MaskingService.from_settings(s).db.upgrade()
    step("database", s.effective_database_url.split("///")[-1])
    step("redis", _ensure_redis(s))
    rootfs = ensure_rootfs(log=lambda m: say(f"      {m}"))
    step("asterisk root filesystem", str(rootfs))

    agi_port = s.agi_port if port_bindable(s.agi_port) else free_port(socket.SOCK_STREAM)
    http_port = s.http_port if port_bindable(s.http_port) else free_port(socket.SOCK_STREAM)
    ports = Ports(ami_port=s.ami_port)
    if not (port_bindable(ports.sip_port, socket.SOCK_DGRAM) and port_bindable(ports.ami_port)):
        ports = Ports.free()
    carrier_port = free_port(socket.SOCK_DGRAM)
    desk1_port = free_port(socket.SOCK_DGRAM)  # the simulated desk phone, for click-to-call
    s = s.model_copy(
        update={"agi_port": agi_port, "http_port": http_port, "ami_port": ports.ami_port}
    )
    asterisk = LocalAsterisk(
        s.var_dir / "asterisk",
        ports,
        agi=f"127.0.0.1:{agi_port}",
        carrier=f"127.0.0.1:{carrier_port}",
        ami_username=s.ami_username,
        ami_secret=s.ami_secret,
        ami_reload_username=s.ami_reload_username,
        ami_reload_secret=s.ami_reload_secret,
        rootfs=rootfs,
        log=lambda m: say(f"      {m}"),
        phones=[
            Phone("desk1", DESK_PASSWORD, contact=f"127.0.0.1:{desk1_port}"),
            Phone("desk2", "desk2-secret"),
        ],
    )
    s = s.model_copy(update={"recordings_dir": asterisk.monitor_dir})
    asterisk.start()
    stack: RuntimeThread | None = None
    try:
        step(
            "asterisk",
            f"Asterisk 22 on SIP 127.0.0.1:{ports.sip_port}, "
            f"AMI {ports.ami_port}, started in {asterisk.started_in or 0:.1f} s",
        )
        stack = RuntimeThread(s).start()
        assert stack.runtime.ami is not None
        stack.run(stack.runtime.ami.wait_connected(15))
        step("service", f"FastAGI 127.0.0.1:{agi_port}, console http://127.0.0.1:{http_port}/")
        service = stack.runtime.service
        masked_call(
            service,
            sip_address=asterisk.sip_address,
            carrier_port=carrier_port,
            workdir=s.var_dir / "demo-sipp",
            recordings_dir=Path(s.effective_recordings_dir),
            step=step,
            result=result,
        )
        result["console"] = {
            "url": f"http://127.0.0.1:{http_port}/",
            "login": OWNER,
            "password": OWNER_PASSWORD,
        }
        if keep_running:
            _stay_up(s.var_dir / "demo-sipp", carrier_port, desk1_port, http_port, say)
        return result
    finally:
        if stack is not None:
            stack.stop()
        asterisk.stop()


def _stay_up(workdir: Path, carrier_port: int, desk1_port: int, http_port: int, say: Any) -> None:
    """Keep simulated phones answering (desk1 and the customer) until Ctrl-C, so that
    click-to-call from the console rings desk1, then the customer, for real."""
    from lab.sipp import Sipp

    day = 24 * 3600
    phones = [
        Sipp(
            "site_phone_hangup_uas",
            workdir,
            port=desk1_port,
            rtp_echo=True,
            calls=1000,
            timeout=day,
            name="demo-desk1",
        )
        .start()
        .listening(),
        Sipp(
            "carrier_uas",
            workdir,
            port=carrier_port,
            rtp_echo=True,
            calls=1000,
            timeout=day,
            name="demo-customer",
        )
        .start()
        .listening(),
    ]
    say(
        f"\nConsole: http://127.0.0.1:{http_port}/  (login {OWNER} / {OWNER_PASSWORD}). "
        f"Search {SHIPMENT}, pick a reason, press Call: the simulated desk1 answers, then the "
        "simulated customer; desk1 hangs up after a few seconds. Ctrl-C stops the demo."
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        for phone in phones:
            phone.stop()


def _wait_record(service: MaskingService, timeout: float = 20.0) -> CallRecord:
    deadline = time.monotonic() + timeout
    while True:
        with service.db.session() as session:
            record = session.scalar(
                select(CallRecord)
                .where(CallRecord.channel_id.is_not(None))
                .order_by(CallRecord.started_at.desc())
                .limit(1)
            )
        if (
            record is not None
            and record.ended_at is not None
            and (record.recording_bytes is not None or record.recording_error)
        ):
            return record
        if time.monotonic() > deadline:
            if record is None:
                raise DemoFailed("no call record was written")
            return record
        time.sleep(0.3)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def demo(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object")] = False,
    keep_running: Annotated[bool, typer.Option(help="Leave the console up until Ctrl-C")] = (False),
) -> None:
    """Place a real masked call between simulated phones through a local Asterisk."""
    from lab.asterisk import RootfsError
    from lab.asterisk.local import AsteriskError
    from lab.sipp import SippError

    def say(message: str) -> None:
        typer.echo(message, err=as_json)

    s = settings()
    signal.signal(signal.SIGTERM, _interrupt)  # clean up phones and Asterisk on `kill` too
    logging.getLogger().setLevel(logging.WARNING)  # the steps below say what happens
    say("masking demo: a masked call through a real Asterisk 22")
    try:
        result = run_demo(s, keep_running=keep_running, say=say)
    except (DemoFailed, RootfsError, AsteriskError, SippError, OSError) as exc:
        if as_json:
            typer.echo(json.dumps({"ok": False, "error": str(exc)}))
        fail(f"demo failed: {exc}", 1)
    result["ok"] = True
    if as_json:
        typer.echo(json.dumps(result, indent=2, default=str))
        return
    typer.echo("")
    typer.echo(f"temporary number      {result['temporary_number']}")
    typer.echo(f"customer saw (From)   {result['customer_saw']['from']}")
    typer.echo(f"really dialed         {result['really_dialed']} (masked)")
    rec = result["call_record"]
    typer.echo(
        f"call record           {rec['id']} {rec['direction']} {rec['disposition']}, "
        f"reason {rec['reason']}, {rec['bridged_seconds']} s bridged"
    )
    typer.echo(
        f"recording             {result['recording']['file']} "
        f"({result['recording']['bytes']} bytes)"
    )
    typer.echo(
        f"console               {result['console']['url']} "
        f"(login {OWNER} / {OWNER_PASSWORD}; add --keep-running to keep it up)"
    )
