"""The ``masking`` command line: the root in :mod:`masking.cli.main`, one module per verb
group beside it, shared helpers in :mod:`masking.cli.common`."""
