"""ORM listeners that keep derived state current with the flush that writes its source.

Imported by :mod:`masking.storage` itself, so they are in place wherever the models are:

* the phone typo index re-keys every shipment inserted or whose number changed
  (:func:`masking.hotline.index.after_flush`);
* a committed change to what the call desk caches (staff, sites and their exceptions,
  pool numbers, a case opened, closed or moved to another shipment) runs the
  ``on_config_change`` callbacks of the session's :class:`masking.storage.db.Database`
  (the service bumps the cache epoch in Redis: :mod:`masking.calls.lookups`).
"""

from __future__ import annotations

from itertools import chain
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session

CONFIG_CHANGED = "config_changed"
ON_CONFIG_CHANGE = "on_config_change"


def _phone_index(session: Session, context: Any) -> None:
    # imported when a flush runs: the index imports the models, which import this package
    from masking.hotline import index

    index.after_flush(session, context)


def _cached_classes() -> tuple[type, ...]:
    from masking.storage.models import Site, SiteException, Staff, VirtualNumber

    return (Staff, Site, SiteException, VirtualNumber)


def _case_moved(obj: Any) -> bool:
    from masking.storage.models import Case

    if not isinstance(obj, Case):
        return False
    state = inspect(obj)
    if state.transient or state.pending:
        return True
    attrs = state.attrs
    return bool(attrs.status.history.has_changes() or attrs.shipment_id.history.has_changes())


def _note_config_change(session: Session, _context: Any) -> None:
    # in after_flush, new / dirty / deleted still hold what this flush wrote
    cached = _cached_classes()
    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, cached) or _case_moved(obj):
            session.info[CONFIG_CHANGED] = True
            return


def _note_bulk_change(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete) or state.bind_mapper is None:
        return
    if issubclass(state.bind_mapper.class_, _cached_classes()):
        state.session.info[CONFIG_CHANGED] = True


def _config_committed(session: Session) -> None:
    if session.info.pop(CONFIG_CHANGED, False):
        for callback in session.info.get(ON_CONFIG_CHANGE, ()):
            callback()


def _config_rolled_back(session: Session) -> None:
    session.info.pop(CONFIG_CHANGED, None)


_LISTENERS = (
    ("after_flush", _phone_index),
    ("after_flush", _note_config_change),
    ("do_orm_execute", _note_bulk_change),
    ("after_commit", _config_committed),
    ("after_rollback", _config_rolled_back),
)


def install() -> None:
    """Register the listeners on every ORM ``Session`` (idempotent)."""
    for name, listener in _LISTENERS:
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)


install()
