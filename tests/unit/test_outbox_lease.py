"""Who may ship: the lease rule, the backoff's bounds, the shipping options refused."""

import os

import pytest

from observabilipy import Shipping
from observabilipy.adapters.storage.sqlite_outbox import Holder, Lease
from observabilipy.runtime.outbox import host_identity, may_take, pid_alive

ME = Holder("me", 100, "host-a")
NOW = 1000.0


def held_by(holder: Holder, until: float = NOW + 10) -> Lease:
    return Lease(0, holder, until)


def alive(pid: int) -> bool:
    return pid == 200


def test_a_free_lease_or_our_own_is_taken():
    """Nobody holds it, or we do: ours."""
    assert may_take(held_by(Holder("", 0, "")), ME, NOW, alive)
    assert may_take(held_by(ME), ME, NOW, alive)


def test_a_live_holder_keeps_it_until_it_runs_out():
    """A live process on our host, or anyone elsewhere, keeps an unexpired lease."""
    assert not may_take(held_by(Holder("x", 200, "host-a")), ME, NOW, alive)
    assert not may_take(held_by(Holder("x", 999, "host-b")), ME, NOW, alive)
    assert may_take(held_by(Holder("x", 999, "host-b"), until=NOW), ME, NOW, alive)


def test_a_dead_holder_on_our_host_is_taken_over_at_once():
    """Its pid is gone here: no need to wait for the lease to run out."""
    assert may_take(held_by(Holder("x", 300, "host-a")), ME, NOW, alive)


def test_another_engine_of_our_own_process_keeps_its_lease():
    """Same pid, another token: alive (it is us), so it keeps it."""
    assert not may_take(held_by(Holder("other", 100, "host-a")), ME, NOW, lambda pid: False)


def test_pid_alive_sees_this_process_and_not_a_free_pid():
    assert pid_alive(os.getpid())
    assert not pid_alive(0)
    assert not pid_alive(2**22 + 12345)  # above Linux's pid_max


def test_the_host_identity_is_stable():
    assert host_identity() == host_identity() != ""


def test_backoff_doubles_from_the_interval_up_to_the_cap_with_jitter():
    """Between half and all of min(max_backoff, interval * 2**(n-1))."""
    shipping = Shipping(interval=1.0, max_backoff=8.0)
    for failures, ceiling in ((1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (50, 8.0)):
        delays = [shipping.backoff(failures) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert max(delays) - min(delays) > 0  # jittered


@pytest.mark.parametrize(
    ("options", "word"),
    [
        ({"interval": 0}, "interval"),
        ({"max_rows": 0}, "max_rows"),
        ({"max_bytes": 2**40}, "max_bytes"),
        ({"lease_seconds": -1}, "lease_seconds"),
        ({"close_timeout": -1}, "close_timeout"),
    ],
)
def test_bad_shipping_options_are_refused_by_name(options, word):
    with pytest.raises(ValueError, match=word):
        Shipping(**options)
