from __future__ import annotations

from airflow_webhook_trigger.core.capture_budget import CaptureBudget


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_count_cap_per_webhook_then_retry_after_the_oldest_leaves() -> None:
    clock = Clock()
    budget = CaptureBudget(2, 1000, clock)
    assert budget.take("a", 10) is None
    clock.now += 15
    assert budget.take("a", 10) is None
    assert budget.take("a", 10) == 45  # the first leaves the minute 45 s from now
    assert budget.take("b", 10) is None  # per webhook
    clock.now += 45
    assert budget.take("a", 10) is None


def test_byte_cap_waits_until_enough_bytes_leave() -> None:
    clock = Clock()
    budget = CaptureBudget(10, 100, clock)
    assert budget.take("a", 60) is None
    clock.now += 10
    assert budget.take("a", 30) is None
    clock.now += 10
    assert budget.take("a", 20) == 40  # 110 bytes: wait for the 60 to leave
    assert budget.take("a", 10) is None  # 100 bytes fit
    clock.now += 40
    assert budget.take("a", 20) is None


def test_a_refused_capture_is_not_counted() -> None:
    clock = Clock()
    budget = CaptureBudget(1, 100, clock)
    assert budget.take("a", 1) is None
    for _ in range(5):
        assert budget.take("a", 1) == 60
    clock.now += 60
    assert budget.take("a", 1) is None
    assert budget.take("a", 1) == 60


def test_a_capture_bigger_than_the_byte_cap_fits_an_empty_minute_only() -> None:
    clock = Clock()
    budget = CaptureBudget(10, 100, clock)
    assert budget.take("a", 500) is None
    clock.now += 1
    assert budget.take("a", 500) == 59
    assert budget.take("a", 1) == 59
    clock.now += 59
    assert budget.take("a", 500) is None


def test_retry_after_is_at_least_one_second() -> None:
    clock = Clock()
    budget = CaptureBudget(1, 100, clock)
    assert budget.take("a", 1) is None
    clock.now += 59.9
    assert budget.take("a", 1) == 1
