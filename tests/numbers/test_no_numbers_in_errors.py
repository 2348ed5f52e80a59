"""Issue 9, finding 2: database and Redis errors, and whatever reaches a log, carry no
customer number (real Redis, real databases)."""

from __future__ import annotations

import logging
import sys
import traceback
import uuid

import pytest
import redis
from sqlalchemy import text

from masking import redaction, shipments, sites
from masking.numbers import bindings
from masking.numbers.pool import LivePool, PoolUnavailable
from masking.reveal import reveal_number
from masking.service import MaskingService
from tests.support.clock import FakeClock
from tests.support.environment import REDIS_URL
from tests.support.factories import World, seed_site
from tests.support.leaks import digit_leaks

REASON = "item_found_later"
# digits unlike the pool's (+7495000000x), so that any 7 of them found are theirs
CUSTOMERS = ["+79161234567", "+79037654321"]
log = logging.getLogger("masking.test")


def customer(i: int) -> str:
    return CUSTOMERS[i]


def _seed(service: MaskingService, pool: int) -> World:
    """Site pvz1 with shipments PVZ1-00000 and PVZ1-00001 of the two customers."""
    world = seed_site(service, pool=pool)
    with service.db.session() as session:
        site = sites.get_site(session, "pvz1")
        for i, number in enumerate(CUSTOMERS):
            shipments.add_shipment(session, site, f"PVZ1-{i:05d}", number)
    return world


def test_database_error_logged_with_exception_has_no_bound_number(
    service: MaskingService, caplog: pytest.LogCaptureFixture
) -> None:
    number = customer(0)
    with service.db.session() as session:
        try:
            session.execute(text("SELECT * FROM no_such_table WHERE phone = :p"), {"p": number})
        except Exception:
            log.exception("inbound lookup failed")
        else:
            pytest.fail("the query should have failed")
    assert "no_such_table" in caplog.text  # the error is there, its parameters are not
    assert not digit_leaks(caplog.text, [number])


def _every_key(service: MaskingService) -> str:
    keys = service.pool.redis.scan_iter(match=service.pool.prefix + "*", count=1000)
    return "\n".join(k.decode() for k in keys)


def test_redis_keys_hold_no_customer_number(service: MaskingService, clock: FakeClock) -> None:
    world = _seed(service, pool=2)
    first = reveal_number(
        service, staff_id=world.owner_id, shipment_number="PVZ1-00000", reason=REASON
    )
    reveal_number(service, staff_id=world.owner_id, shipment_number="PVZ1-00001", reason=REASON)
    customers = CUSTOMERS
    assert not digit_leaks(_every_key(service), customers)
    service.pool.flush()
    bindings.restore_live_state(service)
    assert not digit_leaks(_every_key(service), customers)
    # the customer's keys work after the restore: lookup back, and cool-off after expiry
    back = bindings.for_customer(service, customers[0], first.virtual_number)
    assert back is not None and back.id == first.binding_id
    clock.advance(hours=25)
    service.pool.flush()
    again = reveal_number(
        service, staff_id=world.owner_id, shipment_number="PVZ1-00000", reason=REASON
    )
    assert again.new and again.virtual_number != first.virtual_number


def test_redis_pipeline_error_names_no_customer(service: MaskingService) -> None:
    """redis-py quotes a failing pipeline command (key and values) in its error: a Redis
    user that may not write the customer lookup keys makes the restore's SET fail."""
    world = _seed(service, pool=1)
    reveal_number(service, staff_id=world.owner_id, shipment_number="PVZ1-00000", reason=REASON)
    admin, prefix = service.pool.redis, service.pool.prefix
    user, password = f"masking-test-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    allowed = [
        f"~{prefix}{kind}*" for kind in ("pool:", "b:", "sv:", "ship:", "cool:", "ready", "hkey")
    ]
    admin.acl_setuser(
        user, enabled=True, passwords=[f"+{password}"], commands=["+@all"], keys=allowed
    )
    limited = redis.Redis.from_url(REDIS_URL, username=user, password=password)
    try:
        with pytest.raises(PoolUnavailable) as info:
            LivePool(limited, prefix).restore(
                numbers={},
                bindings=[bindings.pool_state(b) for b in bindings.live_bindings(service)],
                now=service.clock(),
            )
    finally:
        limited.close()
        admin.acl_deluser(user)
    everything = "".join(traceback.format_exception(info.value))
    assert "no permissions" in everything and "of pipeline caused error" in everything, everything
    assert not digit_leaks(everything, CUSTOMERS), everything


def test_wrongtype_on_a_customer_key_names_no_customer(service: MaskingService) -> None:
    world = _seed(service, pool=1)
    pool = service.pool
    cool_key = pool.prefix + "cool:" + pool.customer_key(customer(0)) + ":" + "+74950000000"
    pool.redis.hset(cool_key, "x", "y")
    with pytest.raises(Exception) as info:
        reveal_number(service, staff_id=world.owner_id, shipment_number="PVZ1-00000", reason=REASON)
    everything = "".join(traceback.format_exception(info.value))
    assert "WRONGTYPE" in everything
    assert not digit_leaks(everything, [customer(0)]), everything


def test_an_instance_with_an_outdated_secret_restores_instead_of_missing(
    service: MaskingService,
) -> None:
    """Two instances share the Redis; Redis loses everything and the other one rebuilds
    it under a new secret: this one still finds the customer's binding."""
    world = _seed(service, pool=2)
    made = reveal_number(
        service, staff_id=world.owner_id, shipment_number="PVZ1-00000", reason=REASON
    )
    assert bindings.for_customer(service, customer(0), made.virtual_number) is not None
    other = LivePool(service.pool.redis, service.pool.prefix)
    old_key = service.pool.customer_key(customer(0))
    other.flush()
    other_service = MaskingService(service.settings, service.db, other, service.clock)
    bindings.restore_live_state(other_service)
    assert other.customer_key(customer(0)) != old_key
    found = bindings.for_customer(service, customer(0), made.virtual_number)
    assert found is not None and found.id == made.binding_id
    assert service.pool.customer_key(customer(0)) == other.customer_key(customer(0))


def _record(message: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    return logging.LogRecord("agi", logging.ERROR, __file__, 1, message, args, exc_info)


def _formatted(record: logging.LogRecord) -> str:
    assert redaction.RedactingFilter().filter(record)
    return logging.Formatter("%(message)s").format(record)


@pytest.mark.parametrize(
    "written",
    ["+79161234567", "8 (916) 123-45-67", "+7 916 123 45 67", "79161234567", "8-916-123-45-67"],
)
def test_filter_masks_numbers_in_message_args_and_exception(written: str) -> None:
    number = "+79161234567"
    assert digit_leaks(written, [number])  # the scan sees it unfiltered
    assert not digit_leaks(_formatted(_record(f"dialing {written} now")), [number])
    shown = _formatted(_record("dialing %s for %r", written, {"to": written}))
    assert "dialing" in shown and not digit_leaks(shown, [number]), shown
    try:
        raise RuntimeError(f"lookup of {written} failed")
    except RuntimeError as exc:
        shown = _formatted(_record("call failed", exc=exc))
    assert "RuntimeError: lookup of" in shown and not digit_leaks(shown, [number]), shown


def test_filter_keeps_what_is_not_a_number() -> None:
    text = "call 1f2e3d4c5b6a7989aabbccdd at 2026-11-24 10:00:00 on port 4573, 123456 ms"
    assert _formatted(_record(text)) == text


def test_filter_keeps_asterisk_channel_ids_and_still_masks_a_number_next_to_one() -> None:
    text = "call 1764530000.42 (masking-1764530000.43) hung up"
    assert _formatted(_record(text)) == text
    number = "+79161234567"
    for written in ("dialing 79161234567.", "79161234567.5", "1916123456 7.5"):
        assert not digit_leaks(_formatted(_record(written)), [number]), written


def test_filter_installed_on_the_handlers_covers_every_logger(
    capfd: pytest.CaptureFixture[str],
) -> None:
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stderr)
    root.addHandler(handler)
    try:
        redaction.install()
        logging.getLogger("sqlalchemy.engine.test").error("params %s", ("+79161234567",))
    finally:
        root.removeHandler(handler)
    err = capfd.readouterr().err
    assert "params" in err and not digit_leaks(err, ["+79161234567"]), err
