"""The dialplan contract: channel variables the service sets and the dialplan reads.

Mirrored in ``dialplan/masking-contract.conf``; ``masking dialplan check`` verifies that
every name the dialplan reads is defined here, so rename both together.
"""

from typing import Final

# What to do: exactly ACTION_DIAL lets the dialplan dial; anything else goes to denial.
# A hotline call (route hotline-call) is put into a queue on exactly ACTION_QUEUE; there,
# anything but that or an explicit denial takes the hotline's failure path (the caller
# still reaches the queue, unidentified: MASKING_HOTLINE_ON_FAILURE).
ACTION: Final = "MASKING_ACTION"
ACTION_DIAL: Final = "dial"
ACTION_DENY: Final = "deny"
ACTION_QUEUE: Final = "queue"

# Whom to dial. Operator and click-to-call legs: the customer's E.164 number without "+"
# (digits only), dialed through the carrier trunk. Inbound: an "&"-joined list of
# validated PJSIP endpoint names of the site's phones ("PJSIP/desk1&PJSIP/desk2").
DIAL_NUMBER: Final = "MASKING_DIAL_NUMBER"
DIAL_ENDPOINTS: Final = "MASKING_DIAL_ENDPOINTS"
DIAL_TIMEOUT: Final = "MASKING_DIAL_TIMEOUT"
# Hotline: the app_queue queue of the hotline's team (the shape of an endpoint name).
QUEUE: Final = "MASKING_QUEUE"

# Caller ID to present to the called side (virtual number, neutral name; on a hotline
# call the short case code and "<brand> <code>", never the caller's number).
CALLERID_NUM: Final = "MASKING_CALLERID_NUM"
CALLERID_NAME: Final = "MASKING_CALLERID_NAME"

# The call record's id (32 hex chars), also the recording's file stem.
CALL_ID: Final = "MASKING_CALL_ID"
# Recording file relative to Asterisk's monitor directory, e.g. "2026/11/22/<call id>.wav".
RECORD_FILE: Final = "MASKING_RECORD_FILE"
# "yes" to play the "this call is recorded" announcement to the customer.
ANNOUNCE_RECORDING: Final = "MASKING_ANNOUNCE_RECORDING"

# Denial: a machine code (see masking.refusals.Refusal) and the prompt to play.
DENY_REASON: Final = "MASKING_DENY_REASON"
PROMPT: Final = "MASKING_PROMPT"
# For closed hours: when the site opens next, local time, "HHMM", and the weekday (0=Mon).
OPENS_AT: Final = "MASKING_OPENS_AT"
OPENS_DAY: Final = "MASKING_OPENS_DAY"

ALL: Final = (
    ACTION,
    DIAL_NUMBER,
    DIAL_ENDPOINTS,
    DIAL_TIMEOUT,
    QUEUE,
    CALLERID_NUM,
    CALLERID_NAME,
    CALL_ID,
    RECORD_FILE,
    ANNOUNCE_RECORDING,
    DENY_REASON,
    PROMPT,
    OPENS_AT,
    OPENS_DAY,
)
