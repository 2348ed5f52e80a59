"""Helpers shared by the tests; ``conftest.py`` files hold only fixtures and import from here.

- :mod:`~tests.support.environment`: the machine's servers (Redis, PostgreSQL), free
  ports, and :func:`~tests.support.environment.unavailable` (skip locally, fail in CI)
- :mod:`~tests.support.clock`: the clock a test moves
- :mod:`~tests.support.services`: settings and a real service on them, empty databases
- :mod:`~tests.support.factories`: a seeded site (staff, pool, shipments)
- :mod:`~tests.support.calls`: call records, and an operator call placed through the desk
- :mod:`~tests.support.agi`: a scripted CallDesk and Asterisk's side of FastAGI
- :mod:`~tests.support.fake_ami`: a small AMI peer over TCP; :mod:`~tests.support.ami`:
  waiting for what AMI events do
- :mod:`~tests.support.audio`: WAV files written and measured
- :mod:`~tests.support.web`: two seeded sites with a token per role, the originator double
- :mod:`~tests.support.browser`: the console in a thread, Chromium, screenshots, sign-in
- :mod:`~tests.support.cli`: running ``masking`` verbs in-process
- :mod:`~tests.support.dialplan`: the shipped dialplan, broken on purpose
- :mod:`~tests.support.metrics`: a Prometheus exposition read back, sample by sample
- :mod:`~tests.support.e2e`: the harness around the real Asterisk and the live service
"""
