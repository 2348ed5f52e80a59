"""The masking dialplan for Asterisk admins (read README.md in this folder).

Shipped with the package so that an installed ``masking`` can check and install it:
``masking dialplan check`` and ``masking dialplan install`` read the files from here.
"""

from pathlib import Path

DIRECTORY = Path(__file__).resolve().parent
