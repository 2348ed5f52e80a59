"""The rotating pool of temporary numbers: live binding state in Redis.

Each allocation is one Lua script, so it is atomic however many service processes
reveal at once. It picks, least recently used first, a virtual number of the site's
region that is

* not used by a live binding of the same site (staff dialing it reach one customer),
* not used by a live binding of the same customer, nor inside that customer's cool-off
  after an earlier binding of the same number (the customer calling it back reaches one
  site, and a recycled number does not ring a customer who knew it for another site).

Expiry is decided by the timestamps stored in the keys, compared with the caller's
clock, so tests can move time; Redis TTLs only collect garbage. The database stays the
record of truth: :meth:`LivePool.restore` puts back whatever Redis lost.

Keys (``P`` is the configured prefix): ``P:pool:<region>`` zset number -> last use (ms);
``P:b:<id>`` hash of a binding; ``P:sv:<site>:<number>``, ``P:cv:<ckey>:<number>``
and ``P:ship:<site>:<shipment>`` -> binding id; ``P:cool:<ckey>:<number>`` ->
cool-off end (ms); ``P:ready`` says the state was restored since Redis last lost it.

No key holds a customer's number (Redis names keys in its errors, and redis-py names
them in pipeline errors): ``<ckey>`` is an HMAC of the customer number under a secret
kept in ``P:hkey``. Every service instance sharing the Redis reads the same secret; it
is created once (SET NX) and, when Redis loses everything, created anew with the rest
of the state by :meth:`LivePool.restore`. The scripts that use customer keys check that
the caller's secret is the stored one and answer "not ready" otherwise, so an instance
holding an outdated secret restores (and re-reads it) instead of missing keys.

Failover and lost writes (a replicated Redis, e.g. under Sentinel: :mod:`masking.redis_client`)
---------------------------------------------------------------------------------------------
Replication is asynchronous: the master may acknowledge an allocation and die before a
replica has it. The promoted replica would then miss a binding the database holds, and
hand its number to a second customer of the same site (or the same customer to a second
site), or answer a shipment's reveal with a second binding. Three rules prevent it:

1. *The state belongs to one history.* ``P:ready`` holds ``<replication id>:<nonce>``,
   written by :meth:`LivePool.restore` in the same transaction as the restored state.
   Every script first compares it with the server's own replication id (``INFO
   replication``, a few microseconds): a promoted replica gets a new replication id, and
   so does a restarted server, so on either the scripts answer "not ready" and the caller
   rebuilds the state from the database (:func:`masking.numbers.bindings.with_restore`)
   before anything is allocated or looked up. Whatever the old master lost and the
   database has is back; nothing is allocated from the incomplete state.
2. *A new binding is handed out only once Redis is known to hold it,* checked after its
   database commit (:meth:`LivePool.confirm`). A restore reads the database; a binding
   allocated on the old master whose commit lands after that read would be in neither
   the restored state nor the lost one. So after the commit the reveal asks again: if the
   ready token is the one its allocation ran under, no restore happened in between and
   the allocation is in this state; otherwise the binding is there (restored, or
   replicated before the failover) or is written back now, unless another live binding
   took one of its keys meanwhile, and then the reveal withdraws it (revoked in the
   database, refused "unavailable"). A confirmation Redis cannot answer withdraws it too.
   With that, under crash failures no number is handed to two live bindings, whatever
   the timing; the check costs one round trip per new binding, none per call.
3. *Optionally, a replica must hold it too* (``MASKING_REDIS_REPLICA_ACKS``): the
   confirmation writes a marker and waits (``WAIT``) for that many replicas, so a master
   cut off from its replicas (a network partition, where Sentinel promotes a replica
   on the other side while clients still write to the old master) cannot hand out a
   binding the new master never sees. Without enough acknowledgements within
   :data:`REPLICA_ACK_TIMEOUT_MS` the binding is withdrawn (fail closed). Off by
   default: with one replica it stops reveals whenever that replica is away.

Releases lost with the old master (a revoked binding coming back) are dropped by the
restore (:func:`masking.numbers.bindings.drop_stale_bindings`); cool-offs and the
numbers' order of use come back from the database. The server must not evict keys
(``maxmemory-policy noeviction``): an evicted binding is a lost write no history shows.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from redis.commands.core import Script
from redis.exceptions import NoScriptError

from masking import redis_client
from masking.config import Settings
from masking.numbers.phones import redact_numbers

GC_SLACK_MS = 60_000
REPLICA_ACK_TIMEOUT_MS = 500

# Shared by the scripts: the server's history (its replication id, new on a promoted
# replica and on a restarted server) and the ready token when the state was restored on it.
_HISTORY = """
local function history()
  return string.match(redis.call('INFO', 'replication'), 'master_replid:(%w+)')
end
local function ready_token(prefix)
  local token = redis.call('GET', prefix .. 'ready')
  local here = history()
  if not token or not here or string.sub(token, 1, #here + 1) ~= here .. ':' then
    return nil
  end
  return token
end
"""

# Creates the HMAC secret unless there is one; a new secret means every customer key
# derived from a lost one is unreachable, so the state must be restored: drop ``ready``.
_ENSURE_HKEY = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX') then redis.call('DEL', KEYS[2]) end
return redis.call('GET', KEYS[1])
"""

_ALLOCATE = (
    _HISTORY
    + """
local prefix, site, customer, shipment = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local bid, now, ttl, cool = ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local ckey = ARGV[10]
local token = ready_token(prefix)
if not token or redis.call('GET', prefix .. 'hkey') ~= ARGV[11] then return {'not_ready'} end
local pool_key = KEYS[1]
local ship_key = prefix .. 'ship:' .. site .. ':' .. shipment

local function live_binding(id)
  if not id then return nil end
  local expires = redis.call('HGET', prefix .. 'b:' .. id, 'expires_ms')
  if expires and tonumber(expires) > now then return id end
  return nil
end

local existing = live_binding(redis.call('GET', ship_key))
if existing == bid then
  -- this very allocation, sent again after its answer was lost
  return {'allocated', redis.call('HGET', prefix .. 'b:' .. bid, 'number'), token}
end
if existing then
  return {'existing', existing, redis.call('HGETALL', prefix .. 'b:' .. existing)}
end

local site_busy, customer_cool = 0, 0
local chosen = nil
-- least recently used first, a page at a time: the first free number is usually near
local first, page = 0, 32
repeat
  local numbers = redis.call('ZRANGE', pool_key, first, first + page - 1)
  for _, number in ipairs(numbers) do
    local taken_here = live_binding(redis.call('GET', prefix .. 'sv:' .. site .. ':' .. number))
    local cool_until = tonumber(redis.call('GET', prefix .. 'cool:' .. ckey .. ':' .. number))
    local cooling = cool_until and cool_until > now
    if taken_here then site_busy = site_busy + 1 end
    if cooling then customer_cool = customer_cool + 1 end
    if not taken_here and not cooling then
      chosen = number
      break
    end
  end
  first = first + page
until chosen or #numbers < page
if not chosen then
  return {'exhausted', tostring(redis.call('ZCARD', pool_key)), tostring(site_busy),
          tostring(customer_cool)}
end

local expires = now + ttl
local gc = ttl + tonumber(ARGV[9])
local fields = {'id', bid, 'site_id', site, 'shipment_id', shipment, 'number', chosen,
                'created_ms', tostring(now), 'expires_ms', tostring(expires), 'ckey', ckey,
                'customer', customer}
for i = 12, #ARGV, 2 do
  table.insert(fields, ARGV[i]); table.insert(fields, ARGV[i + 1])
end
redis.call('HSET', prefix .. 'b:' .. bid, unpack(fields))
redis.call('PEXPIRE', prefix .. 'b:' .. bid, gc)
redis.call('SET', prefix .. 'sv:' .. site .. ':' .. chosen, bid, 'PX', gc)
redis.call('SET', prefix .. 'cv:' .. ckey .. ':' .. chosen, bid, 'PX', gc)
redis.call('SET', ship_key, bid, 'PX', gc)
redis.call('SET', prefix .. 'cool:' .. ckey .. ':' .. chosen, tostring(expires + cool),
           'PX', ttl + cool + tonumber(ARGV[9]))
redis.call('ZADD', pool_key, now, chosen)
-- the caller knows the rest of the binding: it sent it
return {'allocated', chosen, token}
"""
)

_LOOKUP = (
    _HISTORY
    + """
if not ready_token(ARGV[1]) then return {'not_ready'} end
if ARGV[2] and redis.call('GET', ARGV[1] .. 'hkey') ~= ARGV[2] then return {'not_ready'} end
local id = redis.call('GET', KEYS[1])
if not id then return nil end
local fields = redis.call('HGETALL', ARGV[1] .. 'b:' .. id)
if #fields == 0 then return nil end
return fields
"""
)

_RELEASE = """
local prefix, id = ARGV[1], ARGV[2]
local b = prefix .. 'b:' .. id
local site = redis.call('HGET', b, 'site_id')
if not site then return 0 end
local ckey = redis.call('HGET', b, 'ckey') or 'none'
local number = redis.call('HGET', b, 'number')
local shipment = redis.call('HGET', b, 'shipment_id')
for _, key in ipairs({prefix .. 'sv:' .. site .. ':' .. number,
                      prefix .. 'cv:' .. ckey .. ':' .. number,
                      prefix .. 'ship:' .. site .. ':' .. shipment}) do
  if redis.call('GET', key) == id then redis.call('DEL', key) end
end
if ARGV[3] == 'uncool' then redis.call('DEL', prefix .. 'cool:' .. ckey .. ':' .. number) end
redis.call('DEL', b)
return 1
"""


_IS_READY = (
    _HISTORY
    + """
if ready_token(ARGV[1]) then return 1 end
return 0
"""
)

# The restored state is of this history; the nonce tells one restore from the next.
_MARK_READY = (
    _HISTORY
    + """
redis.call('SET', KEYS[1], history() .. ':' .. ARGV[1])
return 1
"""
)

# After a new binding's database commit (rule 2 of the module's docstring): 'held' when
# the state is the one it was allocated in or has it anyway, 'restored' when it was
# written back, 'conflict' when another live binding holds one of its keys.
_CONFIRM = (
    _HISTORY
    + """
local prefix, bid, allocated_in = ARGV[1], ARGV[2], ARGV[3]
local site, shipment, number, ckey = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local now, expires = tonumber(ARGV[10]), tonumber(ARGV[11])
local cool_until, slack = tonumber(ARGV[12]), tonumber(ARGV[13])
local token = ready_token(prefix)
if not token or redis.call('GET', prefix .. 'hkey') ~= ARGV[4] then return 'not_ready' end
if ARGV[16] == 'mark' then
  -- a write of this connection after the allocation: WAIT then covers the allocation
  redis.call('SET', prefix .. 'confirmed', bid, 'PX', 60000)
end
local b = prefix .. 'b:' .. bid
if token == allocated_in or redis.call('EXISTS', b) == 1 then return 'held' end
local keys = {prefix .. 'sv:' .. site .. ':' .. number, prefix .. 'cv:' .. ckey .. ':' .. number,
              prefix .. 'ship:' .. site .. ':' .. shipment}
for _, key in ipairs(keys) do
  local other = redis.call('GET', key)
  if other and other ~= bid then
    local until_ms = redis.call('HGET', prefix .. 'b:' .. other, 'expires_ms')
    if until_ms and tonumber(until_ms) > now then return 'conflict' end
  end
end
local gc = expires - now + slack
redis.call('HSET', b, 'id', bid, 'site_id', site, 'shipment_id', shipment, 'number', number,
           'created_ms', tostring(now), 'expires_ms', tostring(expires), 'ckey', ckey,
           'customer', ARGV[9], 'reason', ARGV[14], 'staff_id', ARGV[15])
redis.call('PEXPIRE', b, gc)
for _, key in ipairs(keys) do redis.call('SET', key, bid, 'PX', gc) end
local cool_key = prefix .. 'cool:' .. ckey .. ':' .. number
local cooling = tonumber(redis.call('GET', cool_key))
if not cooling or cooling < cool_until then
  redis.call('SET', cool_key, tostring(cool_until), 'PX', cool_until - now + slack)
end
redis.call('ZADD', KEYS[1], 'XX', 'GT', now, number)
return 'restored'
"""
)


_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""


class PoolError(Exception):
    pass


class PoolUnavailable(PoolError):
    """Redis did not answer: callers fail closed."""


class PoolNotReady(PoolError):
    """Redis lost its state (flush or restart): restore from the database, then retry."""


class PoolConflict(PoolError):
    """A new binding's keys were taken by another live binding after a failover lost
    its allocation: the binding must be withdrawn."""


class PoolExhausted(PoolError):
    """No number is free; the message has the counts (for the service log) and names
    neither the customer nor the site."""

    def __init__(
        self, *, region: str, total: int, busy_at_site: int, cooling_for_customer: int
    ) -> None:
        self.region = region
        self.total = total
        self.busy_at_site = busy_at_site
        self.cooling_for_customer = cooling_for_customer
        super().__init__(
            f"region {region} pool has {total} numbers, {busy_at_site} in live use at the "
            f"site, {cooling_for_customer} live or cooling off for the customer, none free"
        )


@dataclass(frozen=True)
class LiveBinding:
    id: str
    site_id: int
    shipment_id: int
    customer: str
    number: str
    created_at: datetime
    expires_at: datetime
    reason: str
    staff_id: int
    new: bool = False
    # the ready token the allocation ran under (new bindings; LivePool.confirm)
    allocated_under: str = ""

    def is_live(self, now: datetime) -> bool:
        return self.expires_at > now


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _ms_of(span: timedelta) -> int:
    return int(span.total_seconds() * 1000)


def _from_ms(value: str | bytes | int) -> datetime:
    return datetime.fromtimestamp(int(value) / 1000, UTC)


def _pairs(flat: Iterable[Any]) -> dict[str, str]:
    items = [v.decode() if isinstance(v, bytes) else str(v) for v in flat]
    return dict(zip(items[::2], items[1::2], strict=True))


def _binding(fields: dict[str, str], *, new: bool = False) -> LiveBinding:
    return LiveBinding(
        id=fields["id"],
        site_id=int(fields["site_id"]),
        shipment_id=int(fields["shipment_id"]),
        customer=fields["customer"],
        number=fields["number"],
        created_at=_from_ms(fields["created_ms"]),
        expires_at=_from_ms(fields["expires_ms"]),
        reason=fields.get("reason", ""),
        staff_id=int(fields.get("staff_id", "0")),
        new=new,
    )


class LivePool:
    """``replica_acks``: replicas that must acknowledge a new binding's confirmation
    (rule 3 of the module's docstring); 0: none waited for."""

    def __init__(
        self, client: redis.Redis, prefix: str = "masking:", *, replica_acks: int = 0
    ) -> None:
        self.redis = client
        self.prefix = prefix
        self.replica_acks = replica_acks
        self._allocate = client.register_script(_ALLOCATE)
        self._lookup = client.register_script(_LOOKUP)
        self._release = client.register_script(_RELEASE)
        self._make_secret = client.register_script(_ENSURE_HKEY)
        self._is_ready = client.register_script(_IS_READY)
        self._mark_ready = client.register_script(_MARK_READY)
        self._confirm = client.register_script(_CONFIRM)
        self._unlock = client.register_script(_UNLOCK)
        self._secret: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> LivePool:
        return cls(
            redis_client.connect(settings),
            settings.redis_prefix,
            replica_acks=settings.redis_replica_acks,
        )

    def _key(self, *parts: object) -> str:
        return self.prefix + ":".join(str(p) for p in parts)

    def _hmac_secret(self) -> str:
        """The secret of the customer keys, read (or created) once per instance; dropped
        whenever the state turns out to be lost, so it is read again after a restore."""
        if self._secret is None:
            with self._guard():
                found = self._make_secret(
                    keys=[self._key("hkey"), self.ready_key], args=[secrets.token_hex(32)]
                )
            self._secret = found.decode() if isinstance(found, bytes) else str(found)
        return self._secret

    def customer_key(self, customer: str) -> str:
        """What names a customer in Redis keys instead of the number."""
        digest = hmac.new(self._hmac_secret().encode(), customer.encode(), hashlib.sha256)
        return digest.hexdigest()[:32]

    def _not_ready(self) -> PoolNotReady:
        self._secret = None
        return PoolNotReady("live binding state is missing from Redis")

    # ---- numbers -------------------------------------------------------------------
    def add_numbers(self, region: str, numbers: dict[str, datetime | None]) -> None:
        """Put numbers into the region's pool, keeping an existing last-use score."""
        if not numbers:
            return
        scores = {n: (_ms(used) if used else 0) for n, used in numbers.items()}
        with self._guard():
            self.redis.zadd(self._key("pool", region), scores, nx=True)

    def remove_number(self, region: str, number: str) -> None:
        with self._guard():
            self.redis.zrem(self._key("pool", region), number)

    def pool_size(self, region: str) -> int:
        with self._guard():
            return int(self.redis.zcard(self._key("pool", region)))

    # ---- bindings ------------------------------------------------------------------
    def allocate(
        self,
        *,
        region: str,
        site_id: int,
        customer: str,
        shipment_id: int,
        binding_id: str,
        now: datetime,
        ttl_s: float,
        cooloff_s: float,
        reason: str,
        staff_id: int,
    ) -> LiveBinding:
        """The shipment's live binding, or a new one on the least recently used free number."""
        now_ms, ttl_ms = _ms(now), int(ttl_s * 1000)
        args: list[str | int] = [
            self.prefix,
            site_id,
            customer,
            shipment_id,
            binding_id,
            now_ms,
            ttl_ms,
            int(cooloff_s * 1000),
            GC_SLACK_MS,
            self.customer_key(customer),
            self._hmac_secret(),
            "reason",
            reason,
            "staff_id",
            staff_id,
        ]
        with self._guard():
            result = self._allocate(keys=[self._key("pool", region)], args=args)
        kind = result[0].decode() if isinstance(result[0], bytes) else result[0]
        if kind == "not_ready":
            raise self._not_ready()
        if kind == "exhausted":
            total, busy, cooling = (int(x) for x in result[1:4])
            raise PoolExhausted(
                region=region,
                total=total,
                busy_at_site=busy,
                cooling_for_customer=cooling,
            )
        if kind == "allocated":
            number, token = (v.decode() if isinstance(v, bytes) else str(v) for v in result[1:3])
            return LiveBinding(
                id=binding_id,
                site_id=site_id,
                shipment_id=shipment_id,
                customer=customer,
                number=number,
                created_at=_from_ms(now_ms),
                expires_at=_from_ms(now_ms + ttl_ms),
                reason=reason,
                staff_id=staff_id,
                new=True,
                allocated_under=token,
            )
        return _binding(_pairs(result[2]))

    def confirm(self, live: LiveBinding, *, region: str, cooloff_s: float) -> str:
        """After a new binding's database commit: make sure Redis holds it (see the
        module's docstring). Returns ``held`` or ``restored`` (written back after a
        failover); raises :class:`PoolConflict` (withdraw it), :class:`PoolNotReady`
        (restore, then confirm again) or :class:`PoolUnavailable` (Redis or, with
        ``replica_acks``, its replicas did not answer: withdraw it)."""
        created_ms, expires_ms = _ms(live.created_at), _ms(live.expires_at)
        args: list[str | int] = [
            self.prefix,
            live.id,
            live.allocated_under,
            self._hmac_secret(),
            live.site_id,
            live.shipment_id,
            live.number,
            self.customer_key(live.customer),
            live.customer,
            created_ms,
            expires_ms,
            expires_ms + int(cooloff_s * 1000),
            GC_SLACK_MS,
            live.reason,
            live.staff_id,
            "mark" if self.replica_acks else "",
        ]
        keys = [self._key("pool", region)]
        with self._guard():
            if self.replica_acks:
                result = self._replicated(self._confirm, keys, args)
            else:
                result = self._confirm(keys=keys, args=args)
        outcome = result.decode() if isinstance(result, bytes) else str(result)
        if outcome == "not_ready":
            raise self._not_ready()
        if outcome == "conflict":
            raise PoolConflict(
                f"binding {live.id}: its number was taken by another binding after a "
                "Redis failover lost its allocation"
            )
        return outcome

    def _replicated(self, script: Script, keys: list[str], args: list[str | int]) -> Any:
        """Run ``script`` and wait for :attr:`replica_acks` replicas on one connection,
        in one round trip (WAIT counts the writes of the connection it is sent on)."""
        for attempt in (1, 2):
            pipe = self.redis.pipeline(transaction=False)
            pipe.evalsha(script.sha, len(keys), *keys, *args)
            pipe.execute_command("WAIT", self.replica_acks, REPLICA_ACK_TIMEOUT_MS)
            try:
                result, acks = pipe.execute()
            except NoScriptError:
                # a new master (or a restarted one) has an empty script cache
                if attempt == 2:
                    raise
                self.redis.script_load(script.script)
                continue
            if int(acks) < self.replica_acks:
                raise PoolUnavailable(
                    f"{int(acks)} of {self.replica_acks} Redis replicas acknowledged "
                    f"within {REPLICA_ACK_TIMEOUT_MS} ms"
                )
            return result
        raise AssertionError("unreachable")

    def release(self, binding_id: str, *, clear_cooloff: bool = False) -> bool:
        """Forget a live binding (rollback of a failed write, or revocation)."""
        with self._guard():
            done = self._release(
                args=[self.prefix, binding_id, "uncool" if clear_cooloff else "keep"]
            )
        return bool(done)

    def for_site(self, site_id: int, number: str, now: datetime) -> LiveBinding | None:
        """The live binding staff of ``site_id`` reach by dialing ``number``."""
        return self._find(self._key("sv", site_id, number), now, [])

    def for_customer(self, customer: str, number: str, now: datetime) -> LiveBinding | None:
        """The live binding a customer reaches by calling ``number`` back."""
        secret = self._hmac_secret()
        return self._find(self._key("cv", self.customer_key(customer), number), now, [secret])

    def for_shipment(self, site_id: int, shipment_id: int, now: datetime) -> LiveBinding | None:
        return self._find(self._key("ship", site_id, shipment_id), now, [])

    def _find(self, key: str, now: datetime, secret: list[str]) -> LiveBinding | None:
        """``secret``: the HMAC secret ``key`` was derived with, if it was."""
        with self._guard():
            fields = self._lookup(keys=[key], args=[self.prefix, *secret])
        if not fields:
            return None
        if len(fields) == 1:
            raise self._not_ready()
        binding = _binding(_pairs(fields))
        return binding if binding.is_live(now) else None

    # ---- restore -------------------------------------------------------------------
    @property
    def ready_key(self) -> str:
        return self._key("ready")

    def is_ready(self) -> bool:
        """The state was restored on this server's history (and not lost since)."""
        with self._guard():
            return bool(self._is_ready(args=[self.prefix]))

    def begin_restore(self, hold: timedelta) -> str | None:
        """Take the restore lock (held at most ``hold``); None: another process has it."""
        token = secrets.token_hex(8)
        with self._guard():
            taken = self.redis.set(self._key("restoring"), token, nx=True, px=_ms_of(hold))
        return token if taken else None

    def end_restore(self, token: str) -> None:
        with self._guard():
            self._unlock(keys=[self._key("restoring")], args=[token])

    def restore(
        self,
        *,
        numbers: dict[str, dict[str, datetime | None]],
        bindings: Iterable[dict[str, Any]],
        now: datetime,
    ) -> int:
        """Write the given state (from the database) into Redis; returns bindings restored.

        ``numbers``: region -> {number: last use}. ``bindings``: dicts with the keys of
        :class:`LiveBinding` plus ``cooloff_until``; live ones get their lookup keys back,
        cooling ones only their cool-off.
        """
        restored = 0
        now_ms = _ms(now)
        self._secret = None
        secret = self._hmac_secret()
        with self._guard():
            pipe = self.redis.pipeline(transaction=True)
            # with the derived keys, in case Redis lost the secret since it was read
            pipe.set(self._key("hkey"), secret, nx=True)
            for region, members in numbers.items():
                if members:
                    scores = {n: (_ms(u) if u else 0) for n, u in members.items()}
                    pipe.zadd(self._key("pool", region), scores, gt=True)
                    pipe.zadd(self._key("pool", region), scores, nx=True)
            for b in bindings:
                ckey = self.customer_key(b["customer"])
                cool_ms = _ms(b["cooloff_until"])
                if cool_ms > now_ms:
                    pipe.set(
                        self._key("cool", ckey, b["number"]),
                        str(cool_ms),
                        px=cool_ms - now_ms + GC_SLACK_MS,
                    )
                expires_ms = _ms(b["expires_at"])
                if expires_ms <= now_ms:
                    continue
                gc = expires_ms - now_ms + GC_SLACK_MS
                bkey = self._key("b", b["id"])
                pipe.hset(
                    bkey,
                    mapping={
                        "id": b["id"],
                        "site_id": b["site_id"],
                        "shipment_id": b["shipment_id"],
                        "number": b["number"],
                        "created_ms": _ms(b["created_at"]),
                        "expires_ms": expires_ms,
                        "reason": b["reason"],
                        "staff_id": b["staff_id"],
                        "ckey": ckey,
                        "customer": b["customer"],
                    },
                )
                pipe.pexpire(bkey, gc)
                pipe.set(self._key("sv", b["site_id"], b["number"]), b["id"], px=gc)
                pipe.set(self._key("cv", ckey, b["number"]), b["id"], px=gc)
                pipe.set(self._key("ship", b["site_id"], b["shipment_id"]), b["id"], px=gc)
                restored += 1
            self._mark_ready(keys=[self.ready_key], args=[secrets.token_hex(8)], client=pipe)
            pipe.execute()
            self._drop_keys_named_by_number()
        return restored

    def _drop_keys_named_by_number(self) -> None:
        """Keys of earlier versions named the customer by number (``cv:+7...``)."""
        for kind in ("cv", "cool"):
            old = list(self.redis.scan_iter(match=self._key(kind, "+*"), count=1000))
            if old:
                self.redis.delete(*old)

    def binding(self, binding_id: str) -> LiveBinding | None:
        """A binding's stored state by id, live or not (None when Redis has none)."""
        with self._guard():
            fields = self.redis.hgetall(self._key("b", binding_id))
        return _binding(_pairs(sum(fields.items(), ()))) if fields else None

    def live_ids(self) -> set[str]:
        with self._guard():
            ids = set()
            for key in self.redis.scan_iter(match=self._key("b", "*"), count=1000):
                ids.add((key.decode() if isinstance(key, bytes) else key).rsplit(":", 1)[1])
            return ids

    def flush(self) -> int:
        """Delete every key under the prefix (tests and `masking pool rebuild --clean`)."""
        with self._guard():
            keys = list(self.redis.scan_iter(match=self.prefix + "*", count=1000))
            if keys:
                self.redis.delete(*keys)
            self._secret = None
            return len(keys)

    def _guard(self) -> _RedisGuard:
        return _RedisGuard()


class _RedisGuard:
    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None and issubclass(exc_type, redis.RedisError):
            # redis-py quotes a failing pipeline command with its values (a binding's
            # customer): mask the cause too, it is printed with the traceback
            exc.args = tuple(redact_numbers(str(a)) for a in exc.args)
            raise PoolUnavailable(f"Redis is unavailable: {exc}") from exc
