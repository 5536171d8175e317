"""Redis leases: one holder at a time, renewal and release only by the holder, and the scripts keep
working after the server forgets them (a restart or ``SCRIPT FLUSH``)."""

from __future__ import annotations

from clawsched.sched.coordination.leases import Lease


def test_only_the_holder_renews_and_releases(redis, settings):
    key = settings.key("lease", "test", "one")
    mine, theirs = Lease(redis, key, "run-a", 5), Lease(redis, key, "run-b", 5)
    assert mine.acquire() and not theirs.acquire()
    assert theirs.holder() == "run-a"
    assert not theirs.renew() and not theirs.release()
    assert redis.get(key) == b"run-a"
    assert mine.renew() and 0 < redis.pttl(key) <= 5000
    assert mine.release() and redis.get(key) is None
    assert theirs.acquire() and theirs.holder() == "run-b"
    assert theirs.release()


def test_the_scripts_survive_the_server_forgetting_them(redis, settings):
    key = settings.key("lease", "test", "flush")
    lease = Lease(redis, key, "run-a", 5)
    assert lease.acquire() and lease.renew()
    redis.script_flush()
    assert lease.renew() and lease.release() and redis.get(key) is None
