"""The Redis master is killed (kill -9) under load and Sentinel promotes a replica: reveals
and calls go on, nothing is ever answered wrong, no number is shared, and the live state
the old master took with it is rebuilt from the database.

Real processes throughout: redis-server (a master, two replicas) and redis-sentinel
(three, quorum 2) on loopback ports, PostgreSQL, two service instances (each its own
Sentinel client, database engine and call desk) driven by threads that reveal and place
calls through the real desk. The last writes of the old master are certain to be lost
(:meth:`lab.redis_sentinel.RedisSentinelCluster.lose_next_writes`): bindings revealed,
committed and handed out just before the kill are missing on the promoted replica.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from lab.benchmarks.reveal_rate import rule_violations
from lab.redis_sentinel import RedisSentinelCluster
from masking import accounts, sites
from masking import shipments as shipment_records
from masking.calls.desk import MaskingCallDesk
from masking.numbers import bindings
from masking.numbers.phones import dial_digits
from masking.refusals import Refusal, Refused
from masking.reveal import reveal_number
from masking.service import MaskingService
from masking.storage.models import Binding, RevealAudit
from tests.support.sentinel import sentinel_settings
from tests.support.services import truncate

REASON = "item_found_later"
SITES = 2
SHIPMENTS_PER_SITE = 200
CUSTOMERS = 60
POOL = 240
LOST = 6  # bindings handed out by the old master just before it dies
PACE_S = 0.01
AFTER_PROMOTION_S = 2.5


@dataclass(frozen=True)
class Seeded:
    owners: list[int]
    endpoints: list[str]
    shipments: list[list[tuple[str, str]]]  # per site: (shipment number, customer)


@dataclass(frozen=True)
class Revealed:
    site: int
    shipment: str
    customer: str
    binding_id: str
    number: str


@dataclass
class Tally:
    """What the load saw; ``wrong`` must stay empty."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    revealed: dict[str, Revealed] = field(default_factory=dict)
    answers: list[tuple[str, str, str]] = field(default_factory=list)
    # (monotonic time the operation started, kind, ok)
    events: list[tuple[float, str, bool]] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)
    wrong: list[str] = field(default_factory=list)

    def event(self, started: float, kind: str, ok: bool, failure: str = "") -> None:
        with self.lock:
            self.events.append((started, kind, ok))
            if failure:
                self.failures[f"{kind}: {failure}"] += 1

    def granted(self, item: Revealed) -> None:
        with self.lock:
            self.answers.append((item.shipment, item.binding_id, item.number))
            known = self.revealed.setdefault(item.shipment, item)
            if known.binding_id != item.binding_id:
                self.wrong.append(f"shipment {item.shipment}: a second binding {item}")

    def pick(self, rng: random.Random) -> Revealed | None:
        with self.lock:
            return rng.choice(list(self.revealed.values())) if self.revealed else None


def seed(service: MaskingService) -> Seeded:
    owners, endpoints, shipments = [], [], []
    with service.db.session() as session:
        for s in range(SITES):
            endpoint = f"fo{s}-desk"
            site = sites.create_site(
                session,
                code=f"fo{s}",
                name=f"failover {s}",
                timezone="Europe/Moscow",
                region="RU",
                hours="daily 00:00-24:00",
                ring_endpoints=[endpoint],
            )
            owner = accounts.add_staff(
                session, login=f"fo{s}-owner", role="owner", site=site, endpoint=endpoint
            )
            # customers recur at a site and across sites: both uniqueness rules are at work
            rows = [
                (f"F{s}-{k:04d}", f"+7916{(k * 7 + s) % CUSTOMERS:07d}")
                for k in range(SHIPMENTS_PER_SITE)
            ]
            shipment_records.import_shipments(
                session, site, "shipment,phone\n" + "".join(f"{n},{p}\n" for n, p in rows)
            )
            session.flush()
            owners.append(owner.id)
            endpoints.append(endpoint)
            shipments.append(rows)
    bindings.add_pool_numbers(service, [f"+7495{i:07d}" for i in range(POOL)], "RU")
    return Seeded(owners, endpoints, shipments)


def reveal(service: MaskingService, world: Seeded, site: int, shipment: str) -> Revealed:
    customer = dict(world.shipments[site])[shipment]
    result = reveal_number(
        service, staff_id=world.owners[site], shipment_number=shipment, reason=REASON
    )
    return Revealed(site, shipment, customer, result.binding_id, result.virtual_number)


def revealer(
    service: MaskingService,
    world: Seeded,
    queue: list[tuple[int, str]],
    tally: Tally,
    stop: threading.Event,
    seed_value: int,
) -> None:
    """New shipments from ``queue`` and, every other time, one revealed before again."""
    rng = random.Random(seed_value)
    turn = 0
    while not stop.is_set():
        turn += 1
        again = tally.pick(rng) if turn % 2 == 0 or not queue else None
        if again is not None:
            site, shipment = again.site, again.shipment
        elif queue:
            site, shipment = queue.pop()
        else:
            time.sleep(PACE_S)
            continue
        started = time.monotonic()
        try:
            item = reveal(service, world, site, shipment)
        except Refused as refused:
            if refused.code != Refusal.UNAVAILABLE:
                tally.wrong.append(f"reveal {shipment}: refused {refused.code}")
            tally.event(started, "reveal", False, refused.code)
            if again is None:
                queue.insert(0, (site, shipment))  # tried again later
        except Exception as exc:  # pragma: no cover - reported by the assertions
            tally.wrong.append(f"reveal {shipment}: {type(exc).__name__}: {exc}")
        else:
            tally.granted(item)
            tally.event(started, "reveal", True)
        time.sleep(PACE_S)


def caller(
    desk: MaskingCallDesk, world: Seeded, tally: Tally, stop: threading.Event, seed_value: int
) -> None:
    """Staff dial a revealed number; customers call one back. Each answer is checked
    against what the reveal handed out."""
    rng = random.Random(seed_value)
    n = 0
    while not stop.is_set():
        item = tally.pick(rng)
        if item is None:
            time.sleep(PACE_S)
            continue
        n += 1
        channel = f"PJSIP/fo-{seed_value}-{n:06d}"
        started = time.monotonic()
        if n % 2:
            kind = "staff call"
            decision = desk.operator_call(
                endpoint=world.endpoints[item.site], dialed=item.number, channel_id=channel
            )
            right = decision.action == "dial" and decision.dial_number == dial_digits(item.customer)
        else:
            kind = "callback"
            decision = desk.inbound_call(caller=item.customer, did=item.number, channel_id=channel)
            right = (
                decision.action == "dial"
                and decision.dial_endpoints == (world.endpoints[item.site],)
                and decision.callerid_name == f"Order {item.shipment}"
            )
        if right:
            tally.event(started, kind, True)
        elif decision.action == "deny" and decision.deny_reason is Refusal.UNAVAILABLE:
            tally.event(started, kind, False, Refusal.UNAVAILABLE.value)
        else:
            tally.wrong.append(f"{kind} to {item.number} for {item.shipment}: {decision}")
            tally.event(started, kind, False, f"wrong {decision.action} {decision.deny_reason}")
        time.sleep(PACE_S)


def run_threads(targets: list[Callable[[], None]]) -> list[threading.Thread]:
    threads = [threading.Thread(target=t, daemon=True) for t in targets]
    for thread in threads:
        thread.start()
    return threads


def test_master_killed_under_load(
    cluster: RedisSentinelCluster, pg_template_url: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    truncate(pg_template_url)
    settings = sentinel_settings(cluster, tmp_path, pg_template_url)
    instances = [MaskingService.from_settings(settings) for _ in range(2)]
    first = instances[0]
    try:
        first.db.upgrade()
        world = seed(first)
        bindings.restore_live_state(first)
        old_master = cluster.master()
        old_history = cluster.replication_id(old_master)

        tally = Tally()
        stop = threading.Event()
        queues: list[list[tuple[int, str]]] = [[], []]
        for site, rows in enumerate(world.shipments):
            for k, (shipment, _customer) in enumerate(rows[LOST:]):
                queues[k % 2].append((site, shipment))
        for queue in queues:
            queue.reverse()
        desks = [MaskingCallDesk(service) for service in instances]
        threads = run_threads(
            [
                *(
                    lambda i=i: revealer(instances[i], world, queues[i], tally, stop, i)
                    for i in range(2)
                ),
                *(lambda i=i: caller(desks[i], world, tally, stop, 10 + i) for i in range(2)),
            ]
        )
        time.sleep(1.5)

        # the last bindings of the old master: committed, handed out, never replicated
        lost: list[Revealed] = []
        with cluster.lose_next_writes() as master:
            assert master is old_master
            for k in range(LOST):
                site = k % SITES
                item = reveal(first, world, site, world.shipments[site][k // SITES][0])
                tally.granted(item)
                lost.append(item)
            killed_at = time.monotonic()
            cluster.kill(old_master)
        new_master = cluster.wait_for_promotion(old_master)
        promoted_at = time.monotonic()
        time.sleep(AFTER_PROMOTION_S)
        stop.set()
        for thread in threads:
            thread.join(30)
        assert not any(thread.is_alive() for thread in threads)

        # nothing was answered wrong, before, during or after the failover
        assert tally.wrong == []
        # the promoted replica never had the lost bindings; they are back, from the database
        new_history = cluster.replication_id(new_master)
        assert new_history != old_history
        for item in lost:
            found = first.pool.binding(item.binding_id)
            assert found is not None and found.number == item.number, item
            decision = desks[0].operator_call(
                endpoint=world.endpoints[item.site], dialed=item.number, channel_id="PJSIP/x"
            )
            assert decision.dial_number == dial_digits(item.customer)
        with new_master.client() as direct:
            token = direct.get(settings.redis_prefix + "ready")
        assert token is not None and token.decode().startswith(new_history + ":")
        # no number shared by two live bindings of a site or of a customer, no shipment
        # with two, Redis and the database agreeing on every live binding
        assert +rule_violations(first, tally.answers) == Counter()

        # reveals and both kinds of call went on after the promotion
        after = Counter(kind for t, kind, ok in tally.events if ok and t > promoted_at)
        assert after["reveal"] > 0 and after["staff call"] > 0 and after["callback"] > 0
        kinds = ("reveal", "staff call", "callback")
        # of the operations started after the kill, how long until the first went through
        back = {
            kind: min(t for t, k, ok in tally.events if ok and k == kind and t > killed_at)
            - killed_at
            for kind in kinds
        }
        failed = Counter(kind for _t, kind, ok in tally.events if not ok)
        done = Counter(kind for _t, kind, ok in tally.events if ok)
        print(
            f"\nfailover: replica promoted {promoted_at - killed_at:.1f} s after the kill; "
            "back after "
            + ", ".join(f"{kind} {back[kind]:.1f} s" for kind in kinds)
            + "; failed cleanly (unavailable) "
            + ", ".join(f"{kind} {failed[kind]}" for kind in kinds)
            + "; succeeded "
            + ", ".join(f"{kind} {done[kind]}" for kind in kinds)
            + f"; wrong 0; {len(lost)} lost bindings rebuilt; "
            f"test {time.monotonic() - started:.1f} s"
        )
    finally:
        for service in instances:
            service.close()


def test_too_few_replica_acks_withdraw_the_binding(
    cluster: RedisSentinelCluster, pg_template_url: str, tmp_path: Path
) -> None:
    """``MASKING_REDIS_REPLICA_ACKS=1``: a binding no replica acknowledged is never handed
    out (a master cut off from its replicas may be replaced by one of them)."""
    truncate(pg_template_url)
    settings = sentinel_settings(cluster, tmp_path, pg_template_url, redis_replica_acks=1)
    service = MaskingService.from_settings(settings)
    try:
        service.db.upgrade()
        world = seed(service)
        bindings.restore_live_state(service)
        (held, _), (cut_off, _), (later, _) = world.shipments[0][:3]
        assert reveal(service, world, 0, held).binding_id

        with cluster.lose_next_writes():
            try:
                reveal(service, world, 0, cut_off)
            except Refused as refused:
                assert refused.code == Refusal.UNAVAILABLE
            else:
                raise AssertionError("a binding no replica holds was handed out")

        with service.db.session() as session:
            row = session.scalars(
                select(Binding).where(Binding.shipment.has(external_number=cut_off))
            ).one()
            assert row.revoked_at is not None
            audits = session.scalars(
                select(RevealAudit.granted)
                .where(RevealAudit.binding_id == row.id)
                .order_by(RevealAudit.id)
            ).all()
            assert audits == [True, False]  # granted, then withdrawn
        cluster.wait_for_replicas(2)
        # the replicas are back: the same shipment is revealed afresh
        again = reveal(service, world, 0, cut_off)
        assert again.binding_id != row.id
        assert reveal(service, world, 0, later).binding_id
        assert +rule_violations(service, []) == Counter()
    finally:
        service.close()
