import { describe, expect, it } from "vitest";
import {
  authKind,
  documentFromForm,
  emptyForm,
  formFromDocument,
  formProblem,
  mergePaths,
  parseList,
  parseScalar,
  relativeTime,
  scalarText,
} from "./document";

describe("scalars and lists", () => {
  it("parses JSON scalars where they parse, else keeps the text", () => {
    expect(parseScalar("42")).toBe(42);
    expect(parseScalar("true")).toBe(true);
    expect(parseScalar("null")).toBe(null);
    expect(parseScalar('"42"')).toBe("42");
    expect(parseScalar("refs/heads/main")).toBe("refs/heads/main");
    expect(parseScalar("[1]")).toBe("[1]");
  });

  it("round-trips a scalar through its text", () => {
    for (const value of ["42", "true", "plain", 42, false, null, '"q"', 1.5]) {
      expect(parseScalar(scalarText(value))).toEqual(value);
    }
  });

  it("reads a JSON array or comma-separated values", () => {
    expect(parseList('["a", 1]')).toEqual(["a", 1]);
    expect(parseList("push, 3, true")).toEqual(["push", 3, true]);
    expect(parseList("")).toEqual([]);
  });
});

describe("mergePaths", () => {
  it("adds only new paths, headers case-insensitively", () => {
    const rows = mergePaths("headers", [{ key: 1, path: "X-Event", alias: "ev" }], ["x-event", "x-id"]);
    expect(rows.map((r) => [r.path, r.alias])).toEqual([
      ["X-Event", "ev"],
      ["x-id", ""],
    ]);
    const body = mergePaths("body", [{ key: 1, path: "a", alias: "" }], ["A", "a", "b"]);
    expect(body.map((r) => r.path)).toEqual(["a", "A", "b"]);
  });
});

describe("documentFromForm", () => {
  it("a new form sends only what was set", () => {
    expect(documentFromForm(emptyForm("orders"))).toEqual({ dag_id: "orders", mode: "async", enabled: true });
  });

  it("sends the tolerance and the options the chosen scheme's record takes, and no others", () => {
    const form = {
      ...emptyForm("orders"),
      scheme: "acme",
      secretSource: "env" as const,
      secretEnv: "ACME_SECRET",
      tolerance: "60",
      hmacHeader: "X-Acme-Signature",
      algorithm: "sha512",
      prefix: "v1=",
    };
    const acme = { name: "acme", doc: "", timestamped: true, options: ["header"], signed: [] };
    expect(documentFromForm(form, undefined, acme).auth?.signature).toEqual({
      scheme: "acme",
      secret_env: "ACME_SECRET",
      tolerance_seconds: 60,
      header: "X-Acme-Signature",
    });
    // another scheme's record (the list not loaded yet, say): nothing but the scheme and secret
    const other = { ...acme, name: "zoom" };
    expect(documentFromForm(form, undefined, other).auth?.signature).toEqual({
      scheme: "acme",
      secret_env: "ACME_SECRET",
    });
  });

  it("builds auth, response, dedupe and filters", () => {
    const form = {
      ...emptyForm("orders"),
      basic: true,
      username: "u",
      password: "p",
      scheme: "hmac",
      secretSource: "conn" as const,
      secretConnId: "hook_secret",
      tolerance: "99", // not a timestamped scheme: not sent
      hmacHeader: "X-Sig",
      algorithm: "sha512",
      encoding: "base64",
      prefix: "sha512=",
      responseStatus: "200",
      responseKind: "json" as const,
      responseBody: '{"ok": true}',
      dedupe: "custom" as const,
      dedupeKey: "body:event.id",
      filters: [
        { key: 1, part: "header" as const, path: "X-Event", op: "in" as const, value: "push, ping" },
        { key: 2, part: "body" as const, path: "n", op: "equals" as const, value: "3" },
        { key: 3, part: "query" as const, path: "q", op: "exists" as const, value: "false" },
        { key: 4, part: "body" as const, path: "ref", op: "matches" as const, value: "^refs/tags/" },
      ],
    };
    const hmac = {
      name: "hmac",
      doc: "",
      timestamped: false,
      options: ["header", "algorithm", "encoding", "prefix"],
      signed: [],
    };
    expect(documentFromForm(form, undefined, hmac)).toEqual({
      dag_id: "orders",
      mode: "async",
      enabled: true,
      auth: {
        basic: { username: "u", password: "p" },
        signature: {
          scheme: "hmac",
          secret_conn_id: "hook_secret",
          header: "X-Sig",
          algorithm: "sha512",
          encoding: "base64",
          prefix: "sha512=",
        },
      },
      response: { status: 200, body: { ok: true } },
      dedupe: { key: "body:event.id" },
      filter: [
        { header: "X-Event", in: ["push", "ping"] },
        { body: "n", equals: 3 },
        { query: "q", exists: false },
        { body: "ref", matches: "^refs/tags/" },
      ],
    });
  });

  it("round-trips a document as read, without the view's keys", () => {
    const doc = {
      id: "hook_0001",
      dag_id: "d",
      mode: "sync" as const,
      enabled: true,
      auth: { signature: { scheme: "github", secret_env: "GH_SECRET" } },
      request: { headers: [{ name: "X-GitHub-Event", alias: "event" }], body: [{ path: "ref" }] },
      response: { status: 202, body: { queued: true } },
      sync: { timeout_seconds: 12.5 },
      dedupe: { key: "auto" },
      filter: [{ body: "ref", not_in: ["a", 1] }, { header: "X", equals: "true" }],
    };
    const view = { ...doc, url: "http://x/trigger/hook_0001", test_url: "t", last_delivery: null };
    expect(documentFromForm(formFromDocument(view), view)).toEqual(doc);
  });

  it("keeps request.allow_empty_body, which the form does not show", () => {
    const doc = {
      id: "hook_0002",
      dag_id: "d",
      mode: "async" as const,
      enabled: true,
      auth: { signature: { scheme: "github", secret_env: "GH_SECRET" } },
      request: { allow_empty_body: true },
    };
    expect(documentFromForm(formFromDocument(doc), doc).request).toEqual({ allow_empty_body: true });
    const edited = { ...formFromDocument(doc), fields: { headers: [{ key: 1, path: "X-A", alias: "" }], query: [], body: [] } };
    expect(documentFromForm(edited, doc).request).toEqual({ headers: [{ name: "X-A" }], allow_empty_body: true });
  });

  it("a sync timeout is sent only in sync mode", () => {
    expect(documentFromForm({ ...emptyForm("d"), syncTimeout: "5" }).sync).toBeUndefined();
    expect(documentFromForm({ ...emptyForm("d"), mode: "sync", syncTimeout: "5" }).sync).toEqual({ timeout_seconds: 5 });
  });
});

describe("formProblem", () => {
  it("names what the server would refuse", () => {
    expect(formProblem(emptyForm(""))).toMatch(/DAG/);
    expect(formProblem({ ...emptyForm("d"), responseBody: "{nope" })).toMatch(/JSON/);
    expect(formProblem({ ...emptyForm("d"), responseKind: "text", responseBody: "{nope" })).toBeNull();
  });
});

describe("labels", () => {
  it("names the auth kind", () => {
    expect(authKind({ dag_id: "d" })).toBe("none");
    expect(authKind({ dag_id: "d", auth: { basic: { username: "u", password_env: "P" } } })).toBe("Basic");
    expect(authKind({ dag_id: "d", auth: { signature: { scheme: "slack" } } })).toBe("slack");
    expect(
      authKind({ dag_id: "d", auth: { basic: { username: "u" }, signature: { scheme: "slack" } } }),
    ).toBe("Basic + slack");
  });

  it("says a time relative to now", () => {
    const now = Date.parse("2024-01-01T12:00:00Z");
    expect(relativeTime("2024-01-01T11:55:00Z", now)).toMatch(/5 minutes ago/);
    expect(relativeTime("not a date", now)).toBe("not a date");
  });
});
