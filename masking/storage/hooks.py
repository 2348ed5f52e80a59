"""ORM listeners that keep derived rows current in the flush that writes their source.

Imported by :mod:`masking.storage` itself, so they are in place wherever the models are:
the phone typo index re-keys every shipment inserted or whose number changed
(:func:`masking.hotline.index.after_flush`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session


def _phone_index(session: Session, context: Any) -> None:
    # imported when a flush runs: the index imports the models, which import this package
    from masking.hotline import index

    index.after_flush(session, context)


def install() -> None:
    """Register the listeners on every ORM ``Session`` (idempotent)."""
    if not event.contains(Session, "after_flush", _phone_index):
        event.listen(Session, "after_flush", _phone_index)


install()
