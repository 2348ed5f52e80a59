"""masking: masked calling on Asterisk.

This package is the domain, arranged by capability (see the README's "Where things live");
``masking.web``, ``masking.cli`` and ``masking.runtime`` are the adapters and the
composition root above it.
"""
