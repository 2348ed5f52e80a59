"""The database: record of truth for sites, staff, numbers, bindings, audit and calls.

Redis holds only the live, derived state of bindings (see :mod:`masking.numbers.pool`) and is
rebuilt from these tables after a flush or restart.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from masking.states import CallStatus, Disposition


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Site(Base):
    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    # {"mon": [["09:00", "21:00"]], ...}; a missing or empty day is closed
    weekly_hours: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    phone_region: Mapped[str] = mapped_column(String(2))
    binding_ttl_hours: Mapped[float | None] = mapped_column(default=None)
    ring_endpoints: Mapped[list[str]] = mapped_column(JSON, default=list)
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    suspended_reason: Mapped[str | None] = mapped_column(Text, default=None)
    suspended_by: Mapped[str | None] = mapped_column(String(100), default=None)
    # call-centre SLA clocks count only the site's working hours (else: around the clock)
    sla_working_hours: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    exceptions: Mapped[list[SiteException]] = relationship(
        back_populates="site", cascade="all, delete-orphan", order_by="SiteException.day"
    )

    @property
    def suspended(self) -> bool:
        return self.suspended_at is not None


class SiteException(Base):
    """A date whose hours differ from the weekly schedule (holiday: no intervals)."""

    __tablename__ = "site_exceptions"
    __table_args__ = (UniqueConstraint("site_id", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    intervals: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(String(200), default="")

    site: Mapped[Site] = relationship(back_populates="exceptions")


class Staff(Base):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), default=None)
    role: Mapped[str] = mapped_column(String(20))
    numbers_visible: Mapped[bool] = mapped_column(Boolean, default=False)
    sip_endpoint: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    token_hash: Mapped[str | None] = mapped_column(String(128), unique=True, default=None)
    password_hash: Mapped[str | None] = mapped_column(String(256), default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    site: Mapped[Site | None] = relationship()


class ConsoleSession(Base):
    """A signed-in console session; the cookie carries only its id, so logout, a password
    change or disabling the member ends it on the server, whatever copy of the cookie exists."""

    __tablename__ = "console_sessions"

    # sha256 of the id in the cookie: a database reader cannot ride a live session
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class LoginAttempt(Base):
    """Every console sign-in attempt; the login throttle counts failures here, so it holds
    across service instances and restarts."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_login_at", "login", "at"),
        Index("ix_login_attempts_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    login: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(20))  # masking.accounts.LoginOutcome


class Shipment(Base):
    __tablename__ = "shipments"
    __table_args__ = (UniqueConstraint("site_id", "external_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    external_number: Mapped[str] = mapped_column(String(64))
    customer_phone: Mapped[str] = mapped_column(String(20), index=True)
    # who the customer says they are (hotline identification compares, never shows them)
    customer_name: Mapped[str] = mapped_column(String(200), default="")
    customer_city: Mapped[str] = mapped_column(String(100), default="")
    customer_address: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(40), default="at_pickup_point")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    site: Mapped[Site] = relationship()


class Reason(Base):
    __tablename__ = "reasons"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    title_ru: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(20), default="pickup_point")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class VirtualNumber(Base):
    __tablename__ = "virtual_numbers"

    number: Mapped[str] = mapped_column(String(20), primary_key=True)
    region: Mapped[str] = mapped_column(String(2), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Binding(Base):
    """One temporary number issued to one site for one shipment's customer (kept forever)."""

    __tablename__ = "bindings"
    __table_args__ = (
        Index("ix_bindings_live_site", "site_id", "virtual_number", "expires_at"),
        Index("ix_bindings_live_customer", "customer_phone", "virtual_number", "expires_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"))
    customer_phone: Mapped[str] = mapped_column(String(20))
    virtual_number: Mapped[str] = mapped_column(ForeignKey("virtual_numbers.number"))
    reason_code: Mapped[str] = mapped_column(ForeignKey("reasons.code"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    cooloff_until: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    site: Mapped[Site] = relationship()
    shipment: Mapped[Shipment] = relationship()
    staff: Mapped[Staff] = relationship()

    @classmethod
    def live_at(cls, now: datetime) -> ColumnElement[bool]:
        """The one definition of a live binding, as a query condition: not expired, not
        revoked. (The Redis side decides the same from the timestamps it keeps.)"""
        return (cls.expires_at > now) & cls.revoked_at.is_(None)


class RevealAudit(Base):
    __tablename__ = "reveal_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), default=None)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), default=None)
    shipment_number: Mapped[str] = mapped_column(String(64))
    reason_code: Mapped[str | None] = mapped_column(String(40), default=None)
    # no FK: a concurrent re-reveal may audit a binding whose row is still being written
    binding_id: Mapped[str | None] = mapped_column(String(32), default=None)
    virtual_number: Mapped[str | None] = mapped_column(String(20), default=None)
    granted: Mapped[bool] = mapped_column(Boolean)
    refusal: Mapped[str | None] = mapped_column(String(40), default=None)
    channel: Mapped[str] = mapped_column(String(20), default="cli")


class CallRecord(Base):
    __tablename__ = "call_records"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    direction: Mapped[str] = mapped_column(String(20))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), default=None, index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), default=None)
    binding_id: Mapped[str | None] = mapped_column(ForeignKey("bindings.id"), default=None)
    shipment_id: Mapped[int | None] = mapped_column(ForeignKey("shipments.id"), default=None)
    reason_code: Mapped[str | None] = mapped_column(String(40), default=None)
    endpoint: Mapped[str | None] = mapped_column(String(64), default=None)
    virtual_number: Mapped[str | None] = mapped_column(String(20), default=None)
    channel_id: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    linked_id: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    disposition: Mapped[str] = mapped_column(String(20), default=Disposition.IN_PROGRESS)
    deny_reason: Mapped[str | None] = mapped_column(String(40), default=None)
    # where the call is now (CallStatus; click-to-call shows it live)
    status: Mapped[str] = mapped_column(String(30), default=CallStatus.DECIDING)
    hangup_cause: Mapped[int | None] = mapped_column(Integer, default=None)
    bridged_seconds: Mapped[int | None] = mapped_column(Integer, default=None)
    recording_file: Mapped[str | None] = mapped_column(String(200), default=None)
    recording_bytes: Mapped[int | None] = mapped_column(Integer, default=None)
    recording_error: Mapped[str | None] = mapped_column(Text, default=None)
    # the case this call is an attempt of (call-centre work), if any
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"), default=None, index=True)
    # the Asterisk that handled the call (its systemname); None: the deployment's only
    # one (no name set), or a record from before several Asterisk servers were known
    asterisk: Mapped[str | None] = mapped_column(String(40), default=None)

    site: Mapped[Site | None] = relationship()
    staff: Mapped[Staff | None] = relationship()
    binding: Mapped[Binding | None] = relationship()


class Case(Base):
    """A piece of call-centre work about one customer (kind: appeal, confirmation,
    identification). The customer's number is stored once, on the case's shipment (order),
    and reached only through the masked paths: reveal and click-to-call of that shipment."""

    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("kind", "source", "external_ref"),
        # the call desk looks up the open case of a dialed order on every dial decision
        Index("ix_cases_shipment_status", "shipment_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(20))  # CaseKind
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    source: Mapped[str] = mapped_column(String(64))  # the upstream system
    external_ref: Mapped[str] = mapped_column(String(64))  # its id of this work
    # None: an identification whose caller matched no order
    shipment_id: Mapped[int | None] = mapped_column(ForeignKey("shipments.id"))
    topic: Mapped[str] = mapped_column(String(40))  # AppealType for appeals
    channel: Mapped[str | None] = mapped_column(String(20), default=None)  # AppealChannel
    text: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), index=True)  # CaseStatus
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), default=None)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    first_call_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None, index=True)
    first_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    closed_automatically: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    site: Mapped[Site] = relationship()
    shipment: Mapped[Shipment | None] = relationship()


class CaseNote(Base):
    __tablename__ = "case_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), default=None)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    text: Mapped[str] = mapped_column(Text)


class CaseEvent(Base):
    """The audit of a case: every change, who (None: the service itself) and why."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), default=None)
    action: Mapped[str] = mapped_column(String(20))  # created, assigned, status, note
    from_status: Mapped[str | None] = mapped_column(String(20), default=None)
    to_status: Mapped[str | None] = mapped_column(String(20), default=None)
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    detail: Mapped[str] = mapped_column(Text, default="")


class OutboxEvent(Base):
    """An event for the upstream system, written in the transaction of the change it
    reports and delivered (at least once, by its id) to the configured webhook."""

    __tablename__ = "outbox_events"
    __table_args__ = (Index("ix_outbox_events_pending", "delivered_at", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    case_id: Mapped[str | None] = mapped_column(ForeignKey("cases.id"), default=None)
    type: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)


class SlaPolicy(Base):
    """How long a case of one kind and topic may wait: for the first call (a target) and
    for its resolution (a hard limit). ``site_id`` None is the default for every site."""

    __tablename__ = "sla_policies"
    __table_args__ = (UniqueConstraint("site_id", "kind", "topic"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), default=None)
    kind: Mapped[str] = mapped_column(String(20))  # CaseKind
    topic: Mapped[str] = mapped_column(String(40))  # AppealType for appeals
    first_call_minutes: Mapped[int] = mapped_column(Integer)
    resolve_minutes: Mapped[int] = mapped_column(Integer)


class Order(Base):
    """An order to confirm by phone (seed 003), sent by the shop's system and updated as it
    changes. Its customer is its shipment's (the number is stored there once); its
    confirmation case holds the notes, the audit and the attempts.

    The dial state (``next_at`` and why not before, the claim of the call dialing it now,
    an agreed callback) is kept here, per order: whichever path dials the order (a
    progressive session, a preview click, a desk phone) claims this row first, so an order
    is never dialed twice at once.
    """

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("site_id", "external_ref"),
        # the worklist and the pick: a campaign's orders newest first; the rule's columns
        # and the stored hint ride along, so the counts and the scan for due orders are
        # read from the index alone
        Index(
            "ix_orders_worklist",
            "site_id",
            "created_at",
            "payment_method",
            "status",
            "store",
            "confirmed_at",
            "wait_reason",
            "next_at",
            "id",
        ),
        # the due callbacks of the pick
        Index("ix_orders_callback", "site_id", "callback_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"), unique=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), unique=True)
    source: Mapped[str] = mapped_column(String(64))
    external_ref: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(40))  # the shop's: pending, pending_payment...
    payment_method: Mapped[str] = mapped_column(String(40))  # wire_transfer, card...
    store: Mapped[str] = mapped_column(String(64), default="")  # the shop's campaign / store
    model: Mapped[str] = mapped_column(String(120), default="")  # what was bought
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())  # when the customer ordered
    customer_tz: Mapped[str] = mapped_column(String(64))  # IANA zone of the customer
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    payment_details_resent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # dial state: dialable from next_at (None: now); wait_reason says why not before
    next_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    wait_reason: Mapped[str | None] = mapped_column(String(20), default=None)
    wait_detail: Mapped[str | None] = mapped_column(String(40), default=None)
    dialing_call_id: Mapped[str | None] = mapped_column(String(32), default=None)
    dialing_since: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    callback_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    callback_owner_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), default=None)

    site: Mapped[Site] = relationship()
    shipment: Mapped[Shipment] = relationship()
    case: Mapped[Case] = relationship()


class Campaign(Base):
    """A saved rule over a site's orders (seed 003's filter) and its attempt policy."""

    __tablename__ = "campaigns"
    __table_args__ = (UniqueConstraint("site_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    code: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200), default="")
    tz: Mapped[str] = mapped_column(String(64))  # "yesterday" and "Monday" are counted here
    payment_methods: Mapped[list[str]] = mapped_column(JSON, default=list)
    statuses: Mapped[list[str]] = mapped_column(JSON, default=list)
    stores: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: every store
    lookback_days: Mapped[int] = mapped_column(Integer, default=1)  # 1: from yesterday
    monday_from_friday: Mapped[bool] = mapped_column(Boolean, default=True)
    policy: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # AttemptPolicy fields
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    site: Mapped[Site] = relationship()


class CampaignAssignment(Base):
    """Who works a campaign, and from which day to which day (a week, seed 003)."""

    __tablename__ = "campaign_assignments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    assigned_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DialSession(Base):
    """An operator's progressive dialing over a campaign: the service rings the operator's
    phone, then the next due order, whenever the operator is free and has written the
    note of the last attempt."""

    __tablename__ = "dial_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    state: Mapped[str] = mapped_column(String(20))  # DialSessionState
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    current_call_id: Mapped[str | None] = mapped_column(String(32), default=None)
    # the attempt whose note the operator still owes (no next call until it is written)
    note_due_call_id: Mapped[str | None] = mapped_column(String(32), default=None)
    last_pick_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    idle_reason: Mapped[str | None] = mapped_column(String(40), default=None)


class Hotline(Base):
    """A hotline DID of a brand, answered by one site's team through its Asterisk queue."""

    __tablename__ = "hotlines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    did: Mapped[str] = mapped_column(String(20), unique=True)  # digits, as dialed in
    brand: Mapped[str] = mapped_column(String(40))  # on the agent's phone: "Haier 4821"
    queue: Mapped[str] = mapped_column(String(64))  # the app_queue queue of the team
    region: Mapped[str] = mapped_column(String(2))  # the country numbers are read in (KZ)
    support_email: Mapped[str] = mapped_column(String(200), default="")
    # the service cannot identify (down, error): "queue" without identification, "prompt"
    on_failure: Mapped[str] = mapped_column(String(10), default="queue")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    site: Mapped[Site] = relationship()


class PhoneKey(Base):
    """The typo index of customers' numbers: the national significant number with at most
    one digit deleted (deletion-neighbourhood keys), so numbers within two edits of a
    caller's are found by key lookups, never by a scan. Rebuilt from ``shipments``."""

    __tablename__ = "phone_keys"

    key: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    shipment_id: Mapped[int] = mapped_column(
        ForeignKey("shipments.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class HotlineContact(Base):
    """One call to a hotline: whom the number matched, the agent who answered, what the
    caller proved. Its case (kind identification) holds notes and audit."""

    __tablename__ = "hotline_contacts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    hotline_id: Mapped[int] = mapped_column(ForeignKey("hotlines.id"))
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), unique=True)
    call_id: Mapped[str | None] = mapped_column(ForeignKey("call_records.id"), default=None)
    code: Mapped[str] = mapped_column(String(8), index=True)  # short, shown on the agent's phone
    caller_number: Mapped[str] = mapped_column(String(20))  # E.164 digits; never shown
    match_type: Mapped[str] = mapped_column(String(10))  # MatchType
    # [{"shipment_id": 1, "distance": 0}, ...]: the candidates, closest first
    candidates: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), default=None)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # the candidate the caller proved to be (after full identification)
    shipment_id: Mapped[int | None] = mapped_column(ForeignKey("shipments.id"), default=None)
    verified: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # field -> FieldMatch
    tries: Mapped[int] = mapped_column(Integer, default=0)
    identified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    voice_mismatch: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
