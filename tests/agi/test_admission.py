"""Admission control (agi.admission): busy at once instead of unavailable at the deadline."""

from __future__ import annotations

from agi.admission import Admission


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_cold_start_admits_up_to_the_cold_limit() -> None:
    admission = Admission(1.5, cold_limit=3, floor=0, clock=Clock())
    assert [admission.enter() for _ in range(4)] == [True, True, True, False]
    assert (admission.in_flight, admission.refused) == (3, 1)


def test_the_limit_follows_the_rate_just_shown() -> None:
    clock = Clock()
    admission = Admission(1.5, cold_limit=1000, floor=0, clock=clock)
    for _ in range(100):  # 100 answered in the last second
        assert admission.enter()
        admission.leave()
    assert admission.rate() == 100
    admitted = sum(admission.enter() for _ in range(200))
    assert admitted == 150  # 100/s x 1.5 s
    clock.now += 2  # the answers aged out of the window: the cold limit again
    assert admission.rate() == 0
    assert admission.enter()


def test_an_idle_server_always_admits() -> None:
    clock = Clock()
    admission = Admission(1.5, cold_limit=0, floor=0, clock=clock)
    assert admission.enter()  # nothing in flight
    admission.leave()
    clock.now += 10
    assert admission.enter()


def test_a_quiet_second_does_not_refuse_calls_arriving_together() -> None:
    """One decision in the last second is a rate of 1/s: it says how little was asked, not
    how much the server can do. Calls arriving together up to the floor are admitted."""
    clock = Clock()
    admission = Admission(1.5, floor=50, clock=clock)
    assert admission.enter()
    admission.leave()
    assert admission.rate() == 1
    assert all(admission.enter() for _ in range(50))
    assert not admission.enter()  # beyond the floor, 1/s x 1.5 s is the limit again
    assert admission.refused == 1


async def test_a_burst_beyond_the_limit_is_answered_busy_at_once() -> None:
    """The desk is stuck; the first requests wait for it, those beyond the admission
    limit are answered busy right away (no desk call, no wait for the deadline)."""
    import asyncio
    import threading

    from agi import variables as v
    from agi.server import FastAGIServer
    from tests.support.agi import FakeDesk, exchange, set_vars

    release = threading.Event()
    desk = FakeDesk(behaviour=lambda what, kw: (release.wait(5), FakeDesk().decision)[1])
    server = FastAGIServer(desk, port=0, request_timeout=5.0, reply_timeout=0.5)
    server.admission.cold_limit = 3
    server.admission.floor = 0
    await server.start()
    try:
        waiting = [
            asyncio.create_task(exchange(server.port, "operator-call", "desk1", "74950000001"))
            for _ in range(3)
        ]
        while server.admission.in_flight < 3:
            await asyncio.sleep(0.01)
        refused = [
            set_vars(await exchange(server.port, "operator-call", "desk1", "74950000001"))
            for _ in range(2)
        ]
        release.set()
        decided = [set_vars(c) for c in await asyncio.gather(*waiting)]
        assert len(desk.calls) == 3  # the two refused never reached the desk
    finally:
        release.set()
        await server.close()
    for got in refused:
        assert dict(got)[v.DENY_REASON] == "busy"
        assert dict(got)[v.PROMPT] == "masking/busy"
        assert got[-1] == (v.ACTION, "deny")
    assert all(got[-1] == (v.ACTION, "dial") for got in decided)
    assert server.admission.refused == 2
