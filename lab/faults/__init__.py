"""The fault suite: calls through the real Asterisk while one part of the deployment
fails (``python -m lab.faults``, ``masking bench faults``; :mod:`lab.faults.suite`)."""
