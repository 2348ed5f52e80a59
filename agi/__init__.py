"""Asterisk adapters: FastAGI server, call routes, classic AGI entry point, AMI client.

Nothing here decides anything: every route asks :mod:`masking.calls.desk` for a decision and
hands it to the dialplan as the channel variables listed in :mod:`agi.variables`.
"""
