from __future__ import annotations

from airflow_webhook_trigger.core.ttl_cache import MISSING, TtlCache


def test_values_expire_after_the_ttl() -> None:
    now = [0.0]
    cache: TtlCache[str, int | None] = TtlCache(2.0, clock=lambda: now[0])
    assert cache.get("a") is MISSING
    cache.put("a", 1)
    cache.put("none", None)
    now[0] = 1.9
    assert cache.get("a") == 1
    assert cache.get("none") is None  # a cached None is a value, not a miss
    now[0] = 2.0
    assert cache.get("a") is MISSING


def test_ttl_zero_keeps_nothing() -> None:
    cache: TtlCache[str, int] = TtlCache(0)
    cache.put("a", 1)
    assert cache.get("a") is MISSING


def test_forget_and_clear() -> None:
    cache: TtlCache[str, int] = TtlCache(60)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.forget("a")
    cache.forget("never")
    assert (cache.get("a"), cache.get("b")) == (MISSING, 2)
    cache.clear()
    assert cache.get("b") is MISSING


def test_a_full_cache_starts_afresh_rather_than_growing() -> None:
    cache: TtlCache[int, int] = TtlCache(60, max_entries=3)
    for i in range(3):
        cache.put(i, i)
    cache.put(0, 10)  # replacing a held key does not count as new
    assert cache.get(1) == 1
    cache.put(3, 3)
    assert [cache.get(i) for i in range(4)] == [MISSING, MISSING, MISSING, 3]
