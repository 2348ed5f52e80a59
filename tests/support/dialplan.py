"""The shipped dialplan, copied and broken on purpose: what the dialplan check must catch
(``agi.dialplan.check`` itself, and ``masking dialplan check | install`` around it)."""

from __future__ import annotations

import shutil
from pathlib import Path

from agi.dialplan import DIALPLAN_DIR

# (text in masking.conf, what replaces it), and the words of the check's error
MISTAKES: list[tuple[tuple[str, str], str]] = [
    (
        ("Gosub(masking-sub-agi,s,1(operator-call", "NoOp(masking-sub-agi,s,1(operator-call"),
        "context [masking-operator]",
    ),
    (
        (
            "Gosub(masking-sub-agi,s,1(click2call,${MASKING_C2C_ID}))",
            "AGI(${MASKING_AGI}/click2call?secret=${MASKING_AGI_SECRET}&attempt=${attempt},"
            "${MASKING_C2C_ID})",
        ),
        "AGI() outside [masking-sub-agi]",
    ),
    (
        ("&attempt=${attempt},", ","),
        "AGI() does not number its request",
    ),
    (
        ("1(inbound-call,${FILTER(0-9+,${EXTEN})})", "1(inbound-call,${EXTEN})"),
        "${EXTEN} used unfiltered",
    ),
    (
        ('GotoIf($["${AGISTATUS}" = "SUCCESS"]?decided)', "NoOp(skipped)"),
        "not followed by a branch on AGISTATUS",
    ),
    (
        (
            "Set(MASKING_NUM=${FILTER(0-9,${MASKING_DIAL_NUMBER})})",
            "Set(MASKING_NUM=${MASKING_DIAL_NUMBR})",
        ),
        "MASKING_DIAL_NUMBR is not in the contract",
    ),
    (
        ("Dial(PJSIP/${MASKING_NUM}@${MASKING_TRUNK}", "Dial(PJSIP/${EXTEN}@${MASKING_TRUNK}"),
        "${EXTEN} used unfiltered",
    ),
]


def shipped_copy(target: Path) -> Path:
    """A copy of the shipped dialplan at ``target``."""
    shutil.copytree(DIALPLAN_DIR, target)
    return target


def broken_dialplan(target: Path, edit: tuple[str, str], message: str) -> Path:
    """A copy of the shipped dialplan at ``target`` with one mistake of :data:`MISTAKES`
    (the missing context: the operator context renamed)."""
    shipped_copy(target)
    text = (target / "masking.conf").read_text()
    old, new = edit
    assert old in text
    if "context [" in message:
        text = text.replace("[masking-operator]", "[masking-operator-old]")
    else:
        text = text.replace(old, new, 1)
    (target / "masking.conf").write_text(text)
    return target


def renamed_contract_variable(target: Path) -> Path:
    """A copy whose contract file names MASKING_OPENS_WEEKDAY for MASKING_OPENS_DAY."""
    contract = shipped_copy(target) / "masking-contract.conf"
    contract.write_text(
        contract.read_text().replace("MASKING_OPENS_DAY ", "MASKING_OPENS_WEEKDAY ")
    )
    return target
