"""Redirecting data never crosses the masking boundary (issue 9, finding 9): a call-back
whose INVITE says it was forwarded (Diversion, History-Info with a phone number) rings
the site's phone without either header or those digits, and a desk phone's call claiming
the same reaches the carrier clean."""

from __future__ import annotations

import pytest

from lab.sipp import SipMessage
from tests.support.e2e import CUSTOMER_1, Live, log_tail

pytestmark = pytest.mark.e2e

FORWARDER = "79005550177"  # the number in Diversion / History-Info


def assert_no_redirecting(invite: SipMessage) -> None:
    whole = str(invite) + "\n" + invite.body
    assert not invite.header_all("Diversion"), whole
    assert not invite.header_all("History-Info"), whole
    assert FORWARDER not in whole and FORWARDER[1:] not in whole, whole


def test_call_back_with_diversion_reaches_the_site_phone_without_it(live: Live) -> None:
    e2e = live.e2e
    vn = live.reveal("S1")
    customer, phone = e2e.customer_call(
        "customer_uac_diverted",
        vn.lstrip("+"),
        CUSTOMER_1.lstrip("+"),
        keys={"diverted": FORWARDER},
    )
    assert customer.ok, customer.describe() + "\n" + log_tail(e2e)
    [invite] = phone.invites
    assert (invite.request_uri or "").startswith("sip:desk1@"), invite.request_uri
    assert_no_redirecting(invite)


def test_desk_call_with_diversion_reaches_the_carrier_without_it(live: Live) -> None:
    e2e = live.e2e
    vn = live.reveal("S1")
    desk, carrier = e2e.desk_call(
        "desk_uac_diverted", vn.lstrip("+"), "desk1", answered=True, keys={"diverted": FORWARDER}
    )
    assert desk.ok, desk.describe() + "\n" + log_tail(e2e)
    [invite] = carrier.invites
    assert (invite.request_uri or "").startswith(f"sip:{CUSTOMER_1.lstrip('+')}@")
    assert_no_redirecting(invite)
