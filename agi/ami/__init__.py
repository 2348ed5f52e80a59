"""The AMI adapter: the connection (:mod:`.connection`), call records from its events
(:mod:`.tracker`), click-to-call Originate (:mod:`.originator`), composed as
:class:`AmiClient` (:mod:`.client`)."""

from agi.ami.client import AmiClient
from agi.ami.connection import (
    AmiActionError,
    AmiConnection,
    AmiDisconnected,
    AmiError,
    AmiLoginError,
    AmiNotConnected,
)
from agi.ami.originator import AmiOriginator, sanitize_label
from agi.ami.tracker import CallTracker

__all__ = [
    "AmiActionError",
    "AmiClient",
    "AmiConnection",
    "AmiDisconnected",
    "AmiError",
    "AmiLoginError",
    "AmiNotConnected",
    "AmiOriginator",
    "CallTracker",
    "sanitize_label",
]
