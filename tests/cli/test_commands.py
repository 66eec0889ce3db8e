"""``airflow-webhooks`` driven in-process through :func:`airflow_webhook_trigger.cli.commands.main`."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow_webhook_trigger.cli.commands import main
from airflow_webhook_trigger.core.auth import password_matches_hash
from airflow_webhook_trigger.core.webhook_document import to_document
from tests.airflow_env import EXAMPLES, ROOT

airflow = pytest.mark.airflow

SECRET = "s3cret-Pa55word"
BASE = "http://localhost:8080/webhook/trigger/"
EXAMPLE_FILE = EXAMPLES / "webhooks.yaml"
# the shipped example file: every webhook in it has an id and a password_env
EXAMPLE_DOCS: list[dict[str, Any]] = yaml.safe_load(EXAMPLE_FILE.read_text())["webhooks"]
EXAMPLE_IDS = [d["id"] for d in EXAMPLE_DOCS]
EXAMPLE_ENV = {
    d["auth"]["basic"]["password_env"]
    if "basic" in d["auth"]
    else d["auth"]["signature"]["secret_env"]: f"pw-{d['id']}"
    for d in EXAMPLE_DOCS
}


def run(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *argv: str,
    stdin: str = "",
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    def call(*argv: str, stdin: str = "") -> tuple[int, str, str]:
        return run(capsys, monkeypatch, *argv, stdin=stdin)

    return call


@pytest.fixture
def example_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in EXAMPLE_ENV.items():
        monkeypatch.setenv(name, value)


def _created_id(out: str) -> str:
    first = out.splitlines()[0]
    assert first.startswith("created webhook "), out
    return first.split()[2]


# -- create ----------------------------------------------------------------------------


@airflow
def test_cli_create_minimal_prints_id_and_url(cli: Any, store: Any) -> None:
    code, out, err = cli("create", "--dag-id", "wt_plain")
    assert (code, err) == (0, "")
    webhook_id = _created_id(out)
    assert out == f"created webhook {webhook_id} for DAG wt_plain\n{BASE}{webhook_id}\n"
    webhook = store.require(webhook_id)
    assert (webhook.dag_id, webhook.mode, webhook.enabled, webhook.auth) == ("wt_plain", "async", True, None)
    assert len(webhook_id) >= 16


@airflow
def test_cli_create_every_flag_stored(cli: Any, store: Any) -> None:
    code, out, err = cli(
        "create",
        "--dag-id", "wt_params",
        "--id", "hook-cli-0000001",
        "--mode", "sync",
        "--disabled",
        "--username", "stripe",
        "--password-stdin",
        "--header", "X-Request-Id=request_id",
        "--header", "Date",
        "--query", "query[0].a=first_a",
        "--body", "a",
        "--body", "b.c=amount",
        "--response-status", "202",
        "--response-body", '{"accepted": true}',
        "--response-header", "X-Handled-By=airflow",
        "--response-header", "X-Other=a=b",
        "--timeout", "25",
        stdin=SECRET + "\n",
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert out == f"created webhook hook-cli-0000001 for DAG wt_params\n{BASE}hook-cli-0000001\n"
    webhook = store.require("hook-cli-0000001")
    assert to_document(webhook) == {
        "id": "hook-cli-0000001",
        "dag_id": "wt_params",
        "mode": "sync",
        "enabled": False,
        "auth": {"basic": {"username": "stripe", "password_env": "WEBHOOK_PASSWORD_HOOK_CLI_0000001"}},
        "request": {
            "headers": [{"name": "X-Request-Id", "alias": "request_id"}, {"name": "Date"}],
            "query": [{"path": "query[0].a", "alias": "first_a"}],
            "body": [{"path": "a"}, {"path": "b.c", "alias": "amount"}],
        },
        "response": {
            "status": 202,
            "headers": {"X-Handled-By": "airflow", "X-Other": "a=b"},
            "body": {"accepted": True},
        },
        "sync": {"timeout_seconds": 25},
    }
    assert webhook.auth is not None
    assert password_matches_hash(SECRET, webhook.auth.password_hash)


@airflow
def test_cli_create_password_env_read_and_recorded(
    cli: Any, store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_HOOK_PASSWORD", SECRET)
    code, out, err = cli(
        "create", "--dag-id", "wt_plain", "--username", "u", "--password-env", "MY_HOOK_PASSWORD"
    )
    assert (code, err) == (0, "")
    webhook = store.require(_created_id(out))
    assert webhook.auth is not None
    assert webhook.auth.username == "u"
    assert webhook.auth.password_env == "MY_HOOK_PASSWORD"
    assert password_matches_hash(SECRET, webhook.auth.password_hash)
    assert SECRET not in out


@airflow
def test_cli_create_password_stdin_strips_newline_only(cli: Any, store: Any) -> None:
    code, out, _ = cli(
        "create", "--dag-id", "wt_plain", "--username", "u", "--password-stdin", stdin=" pw x \r\n"
    )
    assert code == 0
    auth = store.require(_created_id(out)).auth
    assert password_matches_hash(" pw x ", auth.password_hash)
    assert auth.password_env is None


@airflow
@pytest.mark.parametrize(
    ("flag", "expected"),
    [
        ("a=amount", {"path": "a", "alias": "amount"}),
        ("a", {"path": "a"}),
        ("a.b=c=d", {"path": "a.b=c", "alias": "d"}),  # the alias follows the last "="
        ("a=not-an-alias", {"path": "a=not-an-alias"}),  # not an identifier: part of the path
        ('["x=y"]', {"path": "x=y"}),  # quoted, so no alias; stored in canonical form
    ],
)
def test_cli_create_field_alias_split(cli: Any, store: Any, flag: str, expected: dict[str, str]) -> None:
    code, out, err = cli("create", "--dag-id", "wt_plain", "--body", flag)
    assert (code, err) == (0, "")
    assert to_document(store.require(_created_id(out)))["request"] == {"body": [expected]}


@airflow
@pytest.mark.parametrize(
    ("text", "body"),
    [
        ("ok", "ok"),
        ("", ""),
        ('{"a": 1}', {"a": 1}),
        ("[1, 2]", [1, 2]),
        ("123", "123"),  # JSON scalars are sent as text
        ('"quoted"', '"quoted"'),
        ("{not json", "{not json"),
    ],
)
def test_cli_create_response_body_text_or_json(cli: Any, store: Any, text: str, body: object) -> None:
    code, out, _ = cli("create", "--dag-id", "wt_plain", "--response-body", text)
    assert code == 0
    assert store.require(_created_id(out)).response.body == body


@airflow
def test_cli_create_status_204_without_body(cli: Any, store: Any) -> None:
    code, out, err = cli("create", "--dag-id", "wt_plain", "--response-status", "204")
    assert (code, err) == (0, "")
    assert store.require(_created_id(out)).response.body == ""


@airflow
def test_cli_allow_empty_body_set_kept_by_clear_fields_and_unset(cli: Any, store: Any) -> None:
    code, out, _ = cli("create", "--dag-id", "wt_plain", "--allow-empty-body", "--header", "X-A")
    webhook_id = _created_id(out)
    assert code == 0 and store.require(webhook_id).allow_empty_body is True
    assert cli("update", webhook_id, "--clear-fields")[0] == 0
    assert store.require(webhook_id).allow_empty_body is True
    assert cli("update", webhook_id, "--no-allow-empty-body")[0] == 0
    assert store.require(webhook_id).allow_empty_body is False


@airflow
def test_cli_create_json_prints_document_and_url(cli: Any, store: Any) -> None:
    code, out, _ = cli(
        "create", "--dag-id", "wt_plain", "--id", "hook-json-000001", "--username", "u", "--password-stdin",
        "--json", stdin=SECRET,
    )  # fmt: skip
    assert code == 0
    doc = json.loads(out)
    assert doc["url"] == BASE + "hook-json-000001"
    assert doc["id"] == "hook-json-000001"
    assert doc["auth"] == {"basic": {"username": "u", "password_env": "WEBHOOK_PASSWORD_HOOK_JSON_000001"}}
    assert SECRET not in out and "scrypt" not in out


@airflow
def test_cli_create_chosen_id_without_auth_warns(cli: Any, store: Any) -> None:
    code, out, err = cli("create", "--dag-id", "wt_plain", "--id", "hook-open-000001")
    assert code == 0
    assert err.startswith("warning: webhook hook-open-000001: a chosen id is a guessable secret")
    assert out.startswith("created webhook hook-open-000001")


@airflow
def test_cli_create_chosen_id_with_auth_no_warning(cli: Any, store: Any) -> None:
    code, _, err = cli(
        "create", "--dag-id", "wt_plain", "--id", "hook-auth-000001", "--username", "u", "--password-stdin",
        stdin="pw",
    )  # fmt: skip
    assert (code, err) == (0, "")


@airflow
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--username", "u"], "error: give --password-env VAR or --password-stdin with --username\n"),
        (["--password-env", "MY_HOOK_PASSWORD"], "error: --username is required with a password\n"),
        (["--password-stdin"], "error: --username is required with a password\n"),
        (
            ["--username", "u", "--password-env", "UNSET_HOOK_PASSWORD"],
            "error: webhook.auth.basic.password_env: environment variable UNSET_HOOK_PASSWORD is not set\n",
        ),
        (["--username", "u", "--password-env", "NOT-A-NAME"], "error: webhook.auth.basic.password_env: "),
        (["--username", "u:x", "--password-stdin"], "error: webhook.auth.basic.username: "),
        (["--id", "bad"], "error: webhook.id: 'bad' must match"),
        (["--header", "Authorization"], "error: webhook.request.headers[0].name: Authorization may never"),
        (["--header", "Cookie"], "error: webhook.request.headers[0].name: Cookie may never"),
        (["--body", "a..b"], "error: webhook.request.body[0].path: "),
        (["--body", "a=x", "--query", "b=x"], "error: request: alias 'x' is used twice"),
        (["--body", "a=webhook"], "error: webhook.request.body[0].alias: alias 'webhook' is reserved"),
        (
            ["--response-status", "404"],
            "error: webhook.response.status: 404 must be an integer from 200 to 299",
        ),
        (["--response-status", "204", "--response-body", "x"], "error: webhook.response.body: must be empty"),
        (["--response-header", "X-A"], "error: --response-header 'X-A': expected NAME=VALUE\n"),
        (
            ["--response-header", "Content-Type=text/html"],
            "error: webhook.response.headers: Content-Type is not allowed in a response",
        ),
        (["--timeout", "0"], "error: webhook.sync.timeout_seconds: "),
        (["--timeout", "nan"], "error: webhook.sync.timeout_seconds: "),
    ],
)
def test_cli_create_invalid_exit_1_error_on_stderr(
    cli: Any, store: Any, argv: list[str], message: str
) -> None:
    code, out, err = cli("create", "--dag-id", "wt_plain", *argv, stdin="pw\n")
    assert (code, out) == (1, "")
    assert err.startswith(message), err
    assert store.list() == []


@airflow
def test_cli_create_duplicate_id_exit_1(cli: Any, store: Any) -> None:
    assert cli("create", "--dag-id", "wt_plain", "--id", "hook-dup-0000001")[0] == 0
    code, out, err = cli("create", "--dag-id", "wt_params", "--id", "hook-dup-0000001")
    assert (code, out) == (1, "")
    assert err == "error: a webhook with id 'hook-dup-0000001' already exists\n"
    assert store.require("hook-dup-0000001").dag_id == "wt_plain"


@pytest.mark.parametrize(
    "argv",
    [
        ["create"],
        ["create", "--dag-id", "d", "--mode", "batch"],
        ["create", "--dag-id", "d", "--response-status", "abc"],
        ["create", "--dag-id", "d", "--username", "u", "--password-env", "X", "--password-stdin"],
        ["create", "--dag-id", "d", "--no-auth"],
        ["nope"],
        [],
        ["show"],
        ["apply"],
        ["db", "upgrade"],
    ],
)
def test_cli_usage_error_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "usage: airflow-webhooks" in capsys.readouterr().err


def test_cli_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for command in (
        "create", "list", "show", "update", "delete", "enable", "disable", "url", "apply", "export",
        "parse-sample", "db",
    ):  # fmt: skip
        assert command in out


# -- list / show / url -----------------------------------------------------------------


@pytest.fixture
def two_webhooks(cli: Any, store: Any) -> None:
    assert cli("create", "--dag-id", "wt_plain", "--id", "hook-bbb-0000001", "--disabled")[0] == 0
    assert cli(
        "create", "--dag-id", "wt_params", "--id", "hook-aaa-0000001", "--mode", "sync",
        "--username", "u", "--password-stdin", stdin=SECRET,
    )[0] == 0  # fmt: skip


@airflow
def test_cli_list_one_line_per_webhook(cli: Any, two_webhooks: None) -> None:
    code, out, err = cli("list")
    assert (code, err) == (0, "")
    assert out == (
        f"hook-aaa-0000001\twt_params\tsync\tenabled\tbasic\t{BASE}hook-aaa-0000001\n"
        f"hook-bbb-0000001\twt_plain\tasync\tdisabled\tno-auth\t{BASE}hook-bbb-0000001\n"
    )


@airflow
def test_cli_list_dag_id_filters(cli: Any, two_webhooks: None) -> None:
    code, out, _ = cli("list", "--dag-id", "wt_plain")
    assert code == 0
    assert [line.split("\t")[0] for line in out.splitlines()] == ["hook-bbb-0000001"]
    assert cli("list", "--dag-id", "no_such_dag")[:2] == (0, "")


@airflow
def test_cli_list_json_documents_with_urls(cli: Any, two_webhooks: None, store: Any) -> None:
    code, out, _ = cli("list", "--json")
    assert code == 0
    docs = json.loads(out)
    assert [d["id"] for d in docs] == ["hook-aaa-0000001", "hook-bbb-0000001"]
    assert [d["url"] for d in docs] == [BASE + "hook-aaa-0000001", BASE + "hook-bbb-0000001"]
    assert {k: v for k, v in docs[1].items() if k != "url"} == to_document(store.require("hook-bbb-0000001"))
    assert SECRET not in out and "scrypt" not in out


@airflow
def test_cli_list_empty_prints_nothing(cli: Any, store: Any) -> None:
    assert cli("list") == (0, "", "")
    assert cli("list", "--json") == (0, "[]\n", "")


@airflow
def test_cli_show_yaml_document_no_secret(cli: Any, two_webhooks: None, store: Any) -> None:
    code, out, _ = cli("show", "hook-aaa-0000001")
    assert code == 0
    doc = yaml.safe_load(out)
    assert doc == {**to_document(store.require("hook-aaa-0000001")), "url": BASE + "hook-aaa-0000001"}
    assert list(doc)[:2] == ["id", "dag_id"]  # document order, not sorted
    assert SECRET not in out and "scrypt" not in out


@airflow
def test_cli_show_json(cli: Any, two_webhooks: None) -> None:
    code, out, _ = cli("show", "hook-bbb-0000001", "--json")
    assert code == 0
    assert json.loads(out)["enabled"] is False


@airflow
def test_cli_url_uses_base_url_and_prefix(cli: Any, two_webhooks: None) -> None:
    assert cli("url", "hook-aaa-0000001") == (
        0,
        "http://localhost:8080/webhook/trigger/hook-aaa-0000001\n",
        "",
    )


@airflow
def test_cli_url_follows_config(cli: Any, two_webhooks: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example.com/")
    monkeypatch.setenv("AIRFLOW__WEBHOOK_TRIGGER__URL_PREFIX", "/hooks")
    assert cli("url", "hook-aaa-0000001")[1] == "https://airflow.example.com/hooks/trigger/hook-aaa-0000001\n"


@airflow
@pytest.mark.parametrize("command", ["show", "url", "delete", "enable", "disable"])
def test_cli_unknown_id_exit_1(cli: Any, store: Any, command: str) -> None:
    assert cli(command, "hook-missing-001") == (1, "", "error: no webhook with id 'hook-missing-001'\n")


@airflow
def test_cli_malformed_id_exit_1(cli: Any, store: Any) -> None:
    assert cli("show", "a\x00bcdefgh")[0] == 1


# -- update / enable / disable / delete ------------------------------------------------


@airflow
def test_cli_update_changes_given_flags_only(cli: Any, two_webhooks: None, store: Any) -> None:
    before = store.require("hook-aaa-0000001")
    code, out, err = cli("update", "hook-aaa-0000001", "--mode", "async", "--body", "a=amount")
    assert (code, out, err) == (0, "updated webhook hook-aaa-0000001\n", "")
    after = store.require("hook-aaa-0000001")
    assert after.mode == "async"
    assert [(f.path, f.alias) for f in after.body] == [("a", "amount")]
    assert after.auth == before.auth  # the stored password is kept (its variable is unset)
    assert (after.dag_id, after.enabled, after.response) == (before.dag_id, before.enabled, before.response)


@airflow
def test_cli_update_nothing_changed_unchanged(cli: Any, two_webhooks: None) -> None:
    assert cli("update", "hook-aaa-0000001", "--mode", "sync") == (
        0,
        "unchanged webhook hook-aaa-0000001\n",
        "",
    )


@airflow
def test_cli_update_generated_id_without_auth_no_warning(cli: Any, store: Any) -> None:
    webhook_id = _created_id(cli("create", "--dag-id", "wt_plain")[1])
    code, out, err = cli("update", webhook_id, "--response-status", "202")
    assert (code, out, err) == (0, f"updated webhook {webhook_id}\n", "")


@airflow
def test_cli_update_no_auth_removes_auth(cli: Any, two_webhooks: None, store: Any) -> None:
    code, out, err = cli("update", "hook-aaa-0000001", "--no-auth")
    assert (code, out) == (0, "updated webhook hook-aaa-0000001\n")
    assert "guessable" in err  # a chosen id lost its auth
    assert store.require("hook-aaa-0000001").auth is None


@airflow
def test_cli_update_new_password_stdin(cli: Any, two_webhooks: None, store: Any) -> None:
    assert cli("update", "hook-aaa-0000001", "--password-stdin", stdin="new-pw\n")[0] == 0
    auth = store.require("hook-aaa-0000001").auth
    assert (auth.username, password_matches_hash("new-pw", auth.password_hash)) == ("u", True)


@airflow
def test_cli_update_add_auth_with_env(
    cli: Any, two_webhooks: None, store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_HOOK_PASSWORD", SECRET)
    code, _, err = cli("update", "hook-bbb-0000001", "--username", "x", "--password-env", "MY_HOOK_PASSWORD")
    assert (code, err) == (0, "")
    auth = store.require("hook-bbb-0000001").auth
    assert (auth.username, auth.password_env) == ("x", "MY_HOOK_PASSWORD")
    assert password_matches_hash(SECRET, auth.password_hash)


@airflow
def test_cli_update_clear_fields(cli: Any, store: Any) -> None:
    cli(
        "create",
        "--dag-id",
        "wt_plain",
        "--id",
        "hook-fld-0000001",
        "--header",
        "X-A",
        "--body",
        "a",
        "--query",
        "q",
    )
    assert cli("update", "hook-fld-0000001", "--clear-fields")[0] == 0
    webhook = store.require("hook-fld-0000001")
    assert (webhook.headers, webhook.query, webhook.body) == ((), (), ())


@airflow
def test_cli_update_invalid_exit_1_unchanged(cli: Any, two_webhooks: None, store: Any) -> None:
    before = store.require("hook-aaa-0000001")
    code, out, err = cli("update", "hook-aaa-0000001", "--response-status", "500")
    assert (code, out) == (1, "")
    assert err.startswith("error: webhook.response.status: 500")
    assert store.require("hook-aaa-0000001") == before


@airflow
def test_cli_update_unknown_exit_1(cli: Any, store: Any) -> None:
    assert cli("update", "hook-missing-001", "--mode", "sync") == (
        1,
        "",
        "error: no webhook with id 'hook-missing-001'\n",
    )


@airflow
def test_cli_disable_then_enable(cli: Any, two_webhooks: None, store: Any) -> None:
    assert cli("disable", "hook-aaa-0000001") == (0, "disabled webhook hook-aaa-0000001\n", "")
    assert store.require("hook-aaa-0000001").enabled is False
    assert cli("disable", "hook-aaa-0000001")[0] == 0  # idempotent
    assert cli("enable", "hook-aaa-0000001") == (0, "enabled webhook hook-aaa-0000001\n", "")
    webhook = store.require("hook-aaa-0000001")
    assert webhook.enabled is True
    assert webhook.auth is not None and password_matches_hash(SECRET, webhook.auth.password_hash)


@airflow
def test_cli_delete_removes(cli: Any, two_webhooks: None, store: Any) -> None:
    assert cli("delete", "hook-aaa-0000001") == (0, "deleted webhook hook-aaa-0000001\n", "")
    assert [w.id for w in store.list()] == ["hook-bbb-0000001"]
    assert cli("delete", "hook-aaa-0000001")[0] == 1


# -- apply / export --------------------------------------------------------------------


@airflow
def test_cli_apply_example_file_twice_idempotent(cli: Any, store: Any, example_env: None) -> None:
    code, out, err = cli("apply", "-f", str(EXAMPLE_FILE))
    assert (code, err) == (0, "")
    assert out.splitlines() == [f"created\t{d['id']}\t{d['dag_id']}" for d in EXAMPLE_DOCS]
    stored = store.list()
    assert sorted(w.id for w in stored) == sorted(EXAMPLE_IDS)
    for doc in EXAMPLE_DOCS:
        webhook = store.require(doc["id"])
        if "signature" in doc["auth"]:
            assert webhook.signature.secret.env == doc["auth"]["signature"]["secret_env"]
            continue
        var = doc["auth"]["basic"]["password_env"]
        assert webhook.auth.password_env == var
        assert password_matches_hash(EXAMPLE_ENV[var], webhook.auth.password_hash)
    code, out, err = cli("apply", "--file", str(EXAMPLE_FILE))
    assert (code, err) == (0, "")
    assert out.splitlines() == [f"unchanged\t{d['id']}\t{d['dag_id']}" for d in EXAMPLE_DOCS]
    assert store.list() == stored


@airflow
def test_cli_apply_stdin(cli: Any, store: Any, example_env: None) -> None:
    code, out, _ = cli("apply", "-f", "-", stdin=EXAMPLE_FILE.read_text())
    assert code == 0
    assert out.count("created\t") == len(EXAMPLE_DOCS)


@airflow
def test_cli_apply_changed_file_updated(cli: Any, store: Any, example_env: None, tmp_path: Path) -> None:
    cli("apply", "-f", str(EXAMPLE_FILE))
    data = yaml.safe_load(EXAMPLE_FILE.read_text())
    data["webhooks"][1]["enabled"] = False
    changed = tmp_path / "webhooks.yaml"
    changed.write_text(yaml.safe_dump(data))
    code, out, _ = cli("apply", "-f", str(changed))
    assert code == 0
    assert [line.split("\t")[0] for line in out.splitlines()] == [
        "updated" if i == 1 else "unchanged" for i in range(len(EXAMPLE_DOCS))
    ]
    assert store.require(EXAMPLE_IDS[1]).enabled is False


@airflow
def test_cli_apply_password_env_unset_new_webhooks_exit_1_nothing_written(cli: Any, store: Any) -> None:
    code, out, err = cli("apply", "-f", str(EXAMPLE_FILE))
    assert (code, out) == (1, "")
    var = EXAMPLE_DOCS[0]["auth"]["basic"]["password_env"]
    assert err == f"error: webhooks[0].auth.basic.password_env: environment variable {var} is not set\n"
    assert store.list() == []


@airflow
def test_cli_apply_one_password_env_unset_exit_1_nothing_written(
    cli: Any, store: Any, example_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    var = EXAMPLE_DOCS[-1]["auth"]["basic"]["password_env"]
    monkeypatch.delenv(var)
    code, out, err = cli("apply", "-f", str(EXAMPLE_FILE))
    assert (code, out) == (1, "")
    assert f"environment variable {var} is not set" in err
    assert store.list() == []


@airflow
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("webhooks: [", "error: FILE is not valid YAML: "),
        ("- dag_id: wt_plain\n", "error: the file must be a mapping with one key, 'webhooks'\n"),
        ("hooks: []\n", "error: the file must be a mapping with one key, 'webhooks'\n"),
        ("webhooks: {dag_id: wt_plain}\n", "error: webhooks: must be a list\n"),
        (
            "webhooks:\n  - {dag_id: wt_plain, id: hook-ok-00000001}\n  - {dag_id: wt_plain, mode: x}\n",
            "error: webhooks[1].mode: 'x' must be one of async, sync\n",
        ),
        (
            "webhooks:\n  - {dag_id: wt_plain, id: hook-ok-00000001}\n"
            "  - {dag_id: wt_plain, filter: [{body: a, matches: '(?=a).*'}]}\n",
            "error: webhooks[1].filter[0].matches: '(?=a).*' is not a regular expression RE2 accepts",
        ),
    ],
)
def test_cli_apply_invalid_file_exit_1_nothing_written(
    cli: Any, store: Any, tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "webhooks.yaml"
    path.write_text(text)
    code, out, err = cli("apply", "-f", str(path))
    assert (code, out) == (1, "")
    assert err.startswith(message.replace("FILE", str(path))), err
    assert store.list() == []


@airflow
def test_cli_apply_missing_file_exit_1(cli: Any, store: Any, tmp_path: Path) -> None:
    code, out, err = cli("apply", "-f", str(tmp_path / "missing.yaml"))
    assert (code, out) == (1, "")
    assert err.startswith(f"error: cannot read {tmp_path / 'missing.yaml'}: ")


@airflow
def test_cli_export_never_prints_secret(cli: Any, store: Any, example_env: None) -> None:
    cli("apply", "-f", str(EXAMPLE_FILE))
    cli("create", "--dag-id", "wt_plain", "--id", "hook-lit-0000001", "--username", "u", "--password-stdin",
        stdin=SECRET)  # fmt: skip
    code, out, err = cli("export")
    assert (code, err) == (0, "")
    for secret in (SECRET, *EXAMPLE_ENV.values()):
        assert secret not in out
    assert "scrypt" not in out and "password:" not in out
    exported = {d["id"]: d for d in yaml.safe_load(out)["webhooks"]}
    assert set(exported) == {*EXAMPLE_IDS, "hook-lit-0000001"}
    assert exported["hook-lit-0000001"]["auth"] == {
        "basic": {"username": "u", "password_env": "WEBHOOK_PASSWORD_HOOK_LIT_0000001"}
    }
    for doc in EXAMPLE_DOCS:
        assert exported[doc["id"]]["auth"] == doc["auth"]


@airflow
def test_cli_export_then_apply_env_unset_unchanged(
    cli: Any, store: Any, example_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli("apply", "-f", str(EXAMPLE_FILE))
    cli("create", "--dag-id", "wt_plain", "--username", "u", "--password-stdin", stdin=SECRET)
    cli("create", "--dag-id", "wt_params", "--mode", "sync", "--timeout", "2.5", "--body", "x.y=xy")
    before = store.list()
    exported = tmp_path / "export.yaml"
    exported.write_text(cli("export")[1])
    for name in EXAMPLE_ENV:
        monkeypatch.delenv(name)
    code, out, err = cli("apply", "-f", str(exported))
    assert (code, err) == (0, "")
    assert [line.split("\t")[0] for line in out.splitlines()] == ["unchanged"] * len(before)
    assert store.list() == before


@airflow
def test_cli_export_dag_id_filters(cli: Any, store: Any, example_env: None) -> None:
    cli("apply", "-f", str(EXAMPLE_FILE))
    dag_id = EXAMPLE_DOCS[1]["dag_id"]
    code, out, _ = cli("export", "--dag-id", dag_id)
    assert code == 0
    assert [d["id"] for d in yaml.safe_load(out)["webhooks"]] == [
        d["id"] for d in EXAMPLE_DOCS if d["dag_id"] == dag_id
    ]


@airflow
def test_cli_export_empty(cli: Any, store: Any) -> None:
    assert cli("export") == (0, "webhooks: []\n", "")


# -- parse-sample (pure: no Airflow) ---------------------------------------------------


@pytest.mark.parametrize(
    ("sample", "paths"),
    [
        ("http://localhost:13000/api/webhook:trigger/1hfmkioou0d?query=1", ["query"]),
        ('{"a": 1, "b": {"c": 2}}', ["a", "b", "b.c"]),
        ("?query[0][a]=1", ["query", "query[0]", "query[0].a"]),
        ("query[0][a]=1&x=2", ["query", "query[0]", "query[0].a", "x"]),
        ("https://example.com/hook?a[b]=1&c=2#frag", ["a", "a.b", "c"]),
        ("https://example.com/hook", []),
        ('[1, {"k": 2}]', ["[0]", "[1]", "[1].k"]),
        ('{"x y": 1}', ['["x y"]']),
    ],
)
def test_cli_parse_sample_prints_paths(cli: Any, sample: str, paths: list[str]) -> None:
    code, out, err = cli("parse-sample", sample)
    assert (code, err) == (0, "")
    assert out.splitlines() == paths


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        (
            "http://localhost:13000/api/webhook:trigger/1hfmkioou0d?query=1",
            {"part": "query", "paths": ["query"]},
        ),
        ('{"a": 1, "b": {"c": 2}}', {"part": "body", "paths": ["a", "b", "b.c"]}),
    ],
)
def test_cli_parse_sample_json(cli: Any, sample: str, expected: dict[str, object]) -> None:
    code, out, _ = cli("parse-sample", sample, "--json")
    assert code == 0
    assert json.loads(out) == expected


def test_cli_parse_sample_at_file(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "sample.json"
    path.write_text('{"a": 1, "b": {"c": 2}}\n', encoding="utf-8")
    assert cli("parse-sample", f"@{path}") == (0, "a\nb\nb.c\n", "")


def test_cli_parse_sample_stdin(cli: Any) -> None:
    assert cli("parse-sample", "-", stdin='{"a": 1, "b": {"c": 2}}') == (0, "a\nb\nb.c\n", "")
    assert cli("parse-sample", "-", "--json", stdin="?x=1") == (0, '{"part": "query", "paths": ["x"]}\n', "")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["   "], "error: sample is empty"),
        (['{"a": '], "error: invalid JSON sample: "),
        (['{"a": 1, "a": 2}'], "error: invalid JSON sample: "),
        (["?" + "&".join(f"k{i}=v" for i in range(1001))], "error: "),
        (["@/no/such/sample.json"], "error: cannot read /no/such/sample.json: "),
    ],
)
def test_cli_parse_sample_invalid_exit_1(cli: Any, argv: list[str], message: str) -> None:
    code, out, err = cli("parse-sample", *argv)
    assert (code, out) == (1, "")
    assert err.startswith(message), err


def test_cli_parse_sample_stdin_empty_exit_1(cli: Any) -> None:
    assert cli("parse-sample", "-", stdin="")[0] == 1


# -- db migrate ------------------------------------------------------------------------


@airflow
def test_cli_db_migrate_idempotent(cli: Any, airflow_db: None) -> None:
    assert cli("db", "migrate") == (0, "webhook tables are up to date\n", "")
    assert cli("db", "migrate") == (0, "webhook tables are up to date\n", "")


# -- the console script ----------------------------------------------------------------


def test_cli_console_script_help() -> None:
    script = Path(sys.executable).parent / "airflow-webhooks"
    assert script.exists(), script
    result = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, timeout=120, env=os.environ.copy(), cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: airflow-webhooks")
    assert "parse-sample" in result.stdout and "apply" in result.stdout


def test_cli_console_script_parse_sample_without_airflow_config(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "airflow-webhooks"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env["AIRFLOW_HOME"] = str(tmp_path)
    result = subprocess.run(
        [str(script), "parse-sample", '{"a": 1, "b": {"c": 2}}'],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert (result.returncode, result.stdout) == (0, "a\nb\nb.c\n"), result.stderr


# -- signatures ----------------------------------------------------------------------------


@airflow
def test_cli_create_signature_env_then_show_export_no_secret(
    cli: Any, store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GH_WEBHOOK_SECRET", "gh-cli-secret")
    code, out, err = cli(
        "create", "--dag-id", "wt_plain", "--signature", "github", "--secret-env", "GH_WEBHOOK_SECRET"
    )
    assert (code, err) == (0, "")
    webhook_id = _created_id(out)
    spec = store.require(webhook_id).signature
    assert (spec.scheme, spec.secret.env, spec.secret.stored) == ("github", "GH_WEBHOOK_SECRET", None)
    for command in (("show", webhook_id), ("export",), ("list",)):
        code, out, _ = cli(*command)
        assert code == 0
        assert "gh-cli-secret" not in out
    assert "github" in cli("list")[1]
    exported = yaml.safe_load(cli("export")[1])["webhooks"][0]
    assert exported["auth"] == {"signature": {"scheme": "github", "secret_env": "GH_WEBHOOK_SECRET"}}


@airflow
def test_cli_create_signature_unset_env_refused(cli: Any, store: Any) -> None:
    code, _, err = cli(
        "create", "--dag-id", "wt_plain", "--signature", "github", "--secret-env", "NO_SUCH_VAR_X"
    )
    assert code == 1
    assert "environment variable NO_SUCH_VAR_X is not set" in err
    assert store.list() == []


@airflow
def test_cli_create_signature_secret_stdin_stored_encrypted_export_apply_unchanged(
    cli: Any, store: Any, tmp_path: Path
) -> None:
    from sqlalchemy import select

    from airflow_webhook_trigger.airflow_seam.metadata_db import db_session
    from airflow_webhook_trigger.storage.webhook_store import webhooks_table

    code, out, err = cli(
        "create",
        "--dag-id",
        "wt_plain",
        "--signature",
        "stripe",
        "--secret-stdin",
        stdin="whsec_cli_literal\n",
    )
    assert (code, err) == (0, "")
    webhook_id = _created_id(out)
    with db_session() as session:
        row = session.execute(select(webhooks_table).where(webhooks_table.c.id == webhook_id)).one()
    assert "whsec_cli_literal" not in json.dumps(list(row), default=str)
    assert row.signature_secret.startswith("gAAAAA")  # a Fernet token
    exported = cli("export")[1]
    assert "whsec_cli_literal" not in exported
    assert yaml.safe_load(exported)["webhooks"][0]["auth"]["signature"]["secret_stored"] is True
    path = tmp_path / "export.yaml"
    path.write_text(exported)
    code, out, _ = cli("apply", "-f", str(path))
    assert (code, out) == (0, f"unchanged\t{webhook_id}\twt_plain\n")


@airflow
def test_cli_update_tolerance_keeps_secret_then_no_signature(
    cli: Any, store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_SIGNING", "slack-cli-secret")
    webhook_id = _created_id(
        cli("create", "--dag-id", "wt_plain", "--signature", "slack", "--secret-env", "SLACK_SIGNING")[1]
    )
    monkeypatch.delenv("SLACK_SIGNING")  # the same source: no need to see it again
    assert cli("update", webhook_id, "--tolerance", "60")[0] == 0
    spec = store.require(webhook_id).signature
    assert (spec.tolerance_seconds, spec.secret.env) == (60, "SLACK_SIGNING")
    assert cli("update", webhook_id, "--no-signature")[0] == 0
    assert store.require(webhook_id).signature is None


@airflow
def test_cli_signature_flags_need_a_scheme_and_a_secret(cli: Any, store: Any) -> None:
    code, _, err = cli("create", "--dag-id", "wt_plain", "--secret-env", "X")
    assert (code, "--signature SCHEME is required" in err) == (1, True)
    code, _, err = cli("create", "--dag-id", "wt_plain", "--signature", "github")
    assert (code, "--secret-env VAR, --secret-conn-id ID or --secret-stdin" in err) == (1, True)


def test_cli_parse_sample_form_body(cli: Any) -> None:
    code, out, _ = cli("parse-sample", "--form", "--json", "From=%2B1555&Body=hi")
    assert code == 0
    assert json.loads(out) == {"part": "body", "paths": ["From", "Body"]}


@airflow
def test_cli_create_unknown_dag_warns_and_strict_refuses(cli: Any, store: Any) -> None:
    code, _, err = cli("create", "--dag-id", "no_such_dag_zz")
    assert code == 0
    assert "warning: DAG 'no_such_dag_zz' is not in Airflow's DB" in err
    assert [w.dag_id for w in store.list()] == ["no_such_dag_zz"]
    code, _, err = cli("create", "--dag-id", "no_such_dag_zz", "--strict")
    assert code == 1
    assert "error: DAG 'no_such_dag_zz' is not in Airflow's DB" in err
    assert len(store.list()) == 1


@airflow
def test_cli_base_url_unset_warns_once(cli: Any, store: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli("create", "--dag-id", "wt_plain", "--id", "hook-url-0000001")[0] == 0
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "")
    code, out, err = cli("list")
    assert code == 0
    assert err.count("[api] base_url is not set") == 1
    assert "http://localhost:8080/webhook/trigger/hook-url-0000001" in out


# -- exactly-once, filters and the delivery record -------------------


@airflow
def test_cli_dedupe_and_filter_flags_round_trip(cli: Any, store: Any) -> None:
    code, out, err = cli(
        "create",
        "--dag-id",
        "wt_plain",
        "--id",
        "hook-cli-dedupe01",
        "--dedupe",
        "header:X-Delivery",
        "--filter",
        '{"body": "type", "in": ["push"]}',
        "--filter",
        '{"header": "X-GitHub-Event", "exists": true}',
        "--json",
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["dedupe"] == {"key": "header:X-Delivery"}
    assert doc["filter"] == [{"body": "type", "in": ["push"]}, {"header": "X-GitHub-Event", "exists": True}]
    webhook = store.require("hook-cli-dedupe01")
    assert webhook.dedupe.text == "header:X-Delivery" and len(webhook.filters) == 2
    assert cli("update", "hook-cli-dedupe01", "--no-dedupe", "--no-filter")[0] == 0
    webhook = store.require("hook-cli-dedupe01")
    assert webhook.dedupe is None and webhook.filters == ()


@airflow
@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--dedupe", "auto"], "auto takes the sender's delivery key"),
        (["--dedupe", "cookie:x"], "must be auto"),
        (["--filter", "{not json"], "not JSON"),
        (["--filter", '{"body": "a"}'], "filter[0]"),
    ],
)
def test_cli_bad_dedupe_or_filter_is_a_clear_error(
    cli: Any, store: Any, flags: list[str], message: str
) -> None:
    code, _, err = cli("create", "--dag-id", "wt_plain", *flags)
    assert code == 1
    assert message in err and "Traceback" not in err
    assert store.list() == []


@airflow
def test_cli_deliveries_replay_and_sample(cli: Any, store: Any, client: Any) -> None:
    from airflow_webhook_trigger.airflow_seam.wiring import shared_runtime
    from tests.integration import runs_of

    assert cli("create", "--dag-id", "wt_plain", "--id", "hook-cli-record1")[0] == 0
    shared_runtime().source.invalidate()
    accepted = client.post("/webhook/trigger/hook-cli-record1", json={"n": 7})
    assert accepted.status_code == 200
    client.post(
        "/webhook/trigger/hook-cli-record1", content=b"{", headers={"Content-Type": "application/json"}
    )
    shared_runtime().deliveries.flush()

    code, out, _ = cli("deliveries", "hook-cli-record1", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [r["outcome"] for r in rows] == ["rejected", "accepted"]  # newest first
    assert rows[1]["run_id"] == accepted.headers["x-airflow-run-id"]
    code, out, _ = cli("deliveries", "--outcome", "rejected", "--limit", "1")
    assert code == 0 and out.count("\n") == 1 and "\trejected\t400\t" in out

    code, out, err = cli("replay", rows[1]["id"])
    assert code == 0, err
    handle = shared_runtime().endpoint.tokens.handle("hook-cli-record1")
    assert f"replayed delivery {rows[1]['id']}: run webhook__{handle}__" in out
    replays = [
        r for r in runs_of("wt_plain") if (r.conf or {}).get("webhook", {}).get("replay_of") == rows[1]["id"]
    ]
    assert len(replays) == 1 and replays[0].conf["body"] == {"n": 7}
    code, _, err = cli("replay", rows[0]["id"])
    assert code == 1 and "only a delivery that started a run is replayed" in err

    code, _, err = cli("sample", "hook-cli-record1")
    assert code == 1 and "no test capture yet" in err
    test_url = "/webhook/test/hook-cli-record1?x=1"
    assert client.post(test_url, json={"a": {"b": 1}}, headers={"X-Api-Key": "k3y"}).status_code == 200
    code, out, _ = cli("sample", "hook-cli-record1")
    assert code == 0
    assert "body\ta\nbody\ta.b\n" in out and "query\tx\n" in out
    assert "# dropped (may carry a credential): x-api-key\n" in out and "k3y" not in out
    code, out, _ = cli("sample", "hook-cli-record1", "--json")
    assert code == 0
    shown = json.loads(out)
    assert shown["dropped_headers"] == ["x-api-key"] and "dropped_headers" not in shown["sample"]
