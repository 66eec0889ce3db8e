"""The rule over DAG permissions (airflow_webhook_trigger.core.access), with a stand-in caller."""

from __future__ import annotations

from collections.abc import Collection

import pytest

from airflow_webhook_trigger.core.access import FULL, check_read, check_trigger, check_write
from airflow_webhook_trigger.core.errors import Forbidden, NotFound


class Caller:
    def __init__(self, reads: set[str], triggers: set[str]) -> None:
        self.reads, self.triggers = reads, triggers

    def may_read(self, dag_id: str) -> bool:
        return dag_id in self.reads

    def may_trigger(self, dag_id: str) -> bool:
        return dag_id in self.triggers

    def readable(self, dag_ids: Collection[str]) -> set[str]:
        return set(dag_ids) & self.reads


CALLER = Caller(reads={"a", "b"}, triggers={"a"})


def test_access_unreadable_is_the_unknown_webhooks_404() -> None:
    with pytest.raises(NotFound) as hidden:
        check_read(CALLER, "hook-0000001", ["hidden"])
    assert str(hidden.value) == "no webhook with id 'hook-0000001'"
    check_read(CALLER, "hook-0000001", ["a", "b"])


def test_access_trigger_refusal_names_the_dag() -> None:
    with pytest.raises(Forbidden, match="DAG b"):
        check_trigger(CALLER, ["a", "b"])
    check_trigger(CALLER, ["a"])


@pytest.mark.parametrize(
    ("current", "new", "error"),
    [
        (None, "a", None),  # create for a DAG one may trigger
        (None, "b", Forbidden),  # create for a DAG one may only read
        (None, "hidden", Forbidden),  # create for a DAG one may not see: the id was given, nothing leaks
        ("a", "a", None),
        ("a", "b", Forbidden),  # re-point to a DAG one may not trigger
        ("b", "a", Forbidden),  # re-point away from one
        ("hidden", "a", NotFound),  # the webhook of a hidden DAG is not there
        ("a", None, None),  # delete
        ("b", None, Forbidden),
        ("hidden", None, NotFound),
    ],
)
def test_access_write_needs_trigger_on_both_dags(
    current: str | None, new: str | None, error: type[Exception] | None
) -> None:
    if error is None:
        check_write(CALLER, "hook-0000001", current, new)
    else:
        with pytest.raises(error):
            check_write(CALLER, "hook-0000001", current, new)


def test_access_full_allows_every_dag() -> None:
    check_write(FULL, "hook-0000001", "x", "y")
    assert FULL.readable(["x", "y"]) == {"x", "y"}
