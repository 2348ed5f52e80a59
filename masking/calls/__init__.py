"""Calls: the questions Asterisk asks and the answers (:mod:`.contract`), the desk that
decides them (:mod:`.desk`), click-to-call (:mod:`.click2call`) and the call log kept true
from Asterisk's events (:mod:`.call_log`)."""
