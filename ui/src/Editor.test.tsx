import { act, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import AirflowPlugin from "./main";
import { mockFetch, view } from "./test/fetchMock";

const API = "/webhook/api";
const DAGS = "/airflow/api/v2/dags?limit=1000&order_by=dag_id";

function section(name: string) {
  return screen.getByRole("region", { name }) as HTMLElement;
}

function paths(name: string, label = "Path") {
  return within(section(name))
    .queryAllByRole("textbox", { name: label })
    .map((i) => (i as HTMLInputElement).value);
}

async function openNew(user: ReturnType<typeof userEvent.setup>) {
  await user.click(await screen.findByRole("button", { name: "New webhook" }));
  expect(await screen.findByRole("heading", { name: "New webhook" })).toBeInTheDocument();
}

describe("editor", () => {
  it("parses a sample into rows, skips duplicates, aliases and removes, and saves the document", async () => {
    const api = mockFetch({
      [`GET ${API}/webhooks`]: [{ body: { webhooks: [] } }, { body: { webhooks: [view({ id: "orders_hook" })] } }],
      [`GET ${DAGS}`]: { body: { dags: [{ dag_id: "orders" }, { dag_id: "payments" }] } },
      [`POST ${API}/parse-sample`]: [
        { body: { part: "body", paths: ["order.id", "order.total", "customer"] } },
        { body: { part: "body", paths: ["order.id", "extra"] } },
      ],
      [`POST ${API}/webhooks`]: { status: 201, body: { ...view({ id: "orders_hook" }), warnings: ["DAG orders is paused"] } },
    });
    const user = userEvent.setup();
    render(<AirflowPlugin />);
    await openNew(user);

    await user.type(screen.getByLabelText("Webhook id"), "orders_hook");
    const dag = screen.getByRole("combobox", { name: "DAG" });
    await waitFor(() =>
      expect([...document.querySelectorAll("#webhook-dag-ids option")].map((o) => o.getAttribute("value"))).toEqual([
        "orders",
        "payments",
      ]),
    );
    await user.type(dag, "orders");
    await user.selectOptions(screen.getByLabelText("Mode"), "sync");

    await user.click(screen.getByLabelText("Sample"));
    await user.paste('{"order": {"id": 1, "total": 2}, "customer": "c"}');
    await user.click(screen.getByRole("button", { name: "Parse" }));
    await waitFor(() => expect(paths("Body fields")).toEqual(["order.id", "order.total", "customer"]));
    const parse = api.find("POST", `${API}/parse-sample`)[0];
    expect(parse.body).toEqual({ sample: '{"order": {"id": 1, "total": 2}, "customer": "c"}', form: false });

    await user.click(screen.getByRole("button", { name: "Parse" }));
    await waitFor(() => expect(paths("Body fields")).toEqual(["order.id", "order.total", "customer", "extra"]));

    const body = section("Body fields");
    await user.click(within(body).getByRole("button", { name: "Remove customer" }));
    await user.click(within(body).getByRole("button", { name: "Remove extra" }));
    const aliases = within(body).getAllByRole("textbox", { name: "Alias" });
    await user.type(aliases[0], "order_id");

    // a header row by hand
    await user.click(within(section("Headers fields")).getByRole("button", { name: "Add field" }));
    await user.type(within(section("Headers fields")).getByRole("textbox", { name: "Header" }), "X-Shop");

    await user.click(screen.getByRole("button", { name: "Save" }));
    await waitFor(() => expect(api.find("POST", `${API}/webhooks`)).toHaveLength(1));
    expect(api.find("POST", `${API}/webhooks`)[0].body).toEqual({
      id: "orders_hook",
      dag_id: "orders",
      mode: "sync",
      enabled: true,
      request: {
        headers: [{ name: "X-Shop" }],
        body: [{ path: "order.id", alias: "order_id" }, { path: "order.total" }],
      },
    });
    // back on the list, with the warning
    expect(await screen.findByRole("heading", { name: "Webhooks" })).toBeInTheDocument();
    expect(await screen.findByText("DAG orders is paused")).toBeInTheDocument();
    expect(document.querySelector('[data-webhook-id="orders_hook"]')).not.toBeNull();
  });

  it("a form body sample is parsed with form: true; a query sample fills the query rows", async () => {
    const api = mockFetch({
      [`GET ${API}/webhooks?dag_id=payments`]: { body: { webhooks: [] } },
      [`GET ${DAGS}`]: { status: 403, body: { detail: "no" } },
      [`POST ${API}/parse-sample`]: [
        { body: { part: "body", paths: ["command", "text"] } },
        { body: { part: "query", paths: ["a", "b.c"] } },
      ],
    });
    const user = userEvent.setup();
    render(<AirflowPlugin dagId="payments" />);
    await openNew(user);
    // the DAG tab's DAG is the default; the DAG list failed: a free-text input
    expect(screen.getByLabelText("DAG")).toHaveValue("payments");
    await user.type(screen.getByLabelText("Sample"), "command=/deploy&text=now");
    await user.click(screen.getByLabelText("Form body"));
    await user.click(screen.getByRole("button", { name: "Parse" }));
    await waitFor(() => expect(paths("Body fields")).toEqual(["command", "text"]));
    expect(api.find("POST", `${API}/parse-sample`)[0].body).toEqual({ sample: "command=/deploy&text=now", form: true });
    await user.click(screen.getByLabelText("Form body"));
    await user.click(screen.getByRole("button", { name: "Parse" }));
    await waitFor(() => expect(paths("Query fields")).toEqual(["a", "b.c"]));
    expect(api.find("POST", `${API}/parse-sample`)[1].body).toMatchObject({ form: false });
  });

  it("offers the schemes the API lists, each with the fields its record takes", async () => {
    const schemes = [
      { name: "gitlab", doc: "", timestamped: false, options: [], signed: [] },
      { name: "zoom", doc: "", timestamped: true, options: [], signed: [] },
      { name: "acme", doc: "", timestamped: false, options: ["header", "prefix"], signed: [] },
    ];
    mockFetch({
      [`GET ${API}/webhooks`]: { body: { webhooks: [] } },
      [`GET ${DAGS}`]: { body: { dags: [] } },
      [`GET ${API}/schemes`]: { body: { schemes } },
    });
    const user = userEvent.setup();
    render(<AirflowPlugin />);
    await openNew(user);
    const select = screen.getByLabelText("Signature scheme") as HTMLSelectElement;
    await waitFor(() =>
      expect([...select.options].map((o) => o.value)).toEqual(["", "gitlab", "zoom", "acme"]),
    );
    await user.selectOptions(select, "zoom");
    expect(screen.getByLabelText("Tolerance (seconds)")).toBeInTheDocument();
    expect(screen.queryByLabelText("HMAC header")).toBeNull();
    await user.selectOptions(select, "acme");
    expect(screen.queryByLabelText("Tolerance (seconds)")).toBeNull();
    expect(screen.getByLabelText("HMAC header")).toBeInTheDocument();
    expect(screen.getByLabelText("Prefix")).toBeInTheDocument();
    expect(screen.queryByLabelText("Algorithm")).toBeNull();
    await user.selectOptions(select, "gitlab");
    expect(screen.queryByLabelText("Tolerance (seconds)")).toBeNull();
    expect(screen.queryByLabelText("HMAC header")).toBeNull();
  });

  it("shows the API's error verbatim and stays in the editor", async () => {
    mockFetch({
      [`GET ${API}/webhooks`]: { body: { webhooks: [] } },
      [`GET ${DAGS}`]: { body: { dags: [{ dag_id: "orders" }] } },
      [`POST ${API}/webhooks`]: { status: 409, body: { error: "a webhook with id 'orders_hook' exists" } },
    });
    const user = userEvent.setup();
    render(<AirflowPlugin dagId="orders" />);
    await openNew(user);
    await user.type(screen.getByLabelText("Webhook id"), "orders_hook");
    await user.click(screen.getByRole("button", { name: "Save" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("a webhook with id 'orders_hook' exists");
    expect(screen.getByRole("heading", { name: "New webhook" })).toBeInTheDocument();
  });

  it("editing a Basic-auth webhook keeps password_env and the stored secret unless new ones are typed", async () => {
    const existing = view({
      id: "hook_basic1",
      mode: "sync",
      enabled: false,
      auth: {
        basic: { username: "alice", password_env: "HOOK_PW" },
        signature: { scheme: "stripe", secret_stored: true, previous_secret_env: "OLD", tolerance_seconds: 600 },
      },
      request: { query: [{ path: "a", alias: "x" }] },
      response: { status: 200, headers: { "X-A": "1" }, body: "ok" },
      sync: { timeout_seconds: 30 },
      dedupe: { key: "header:X-Id" },
      filter: [{ body: "event", in: ["a", "b"] }, { header: "X-Kind", equals: "42" }],
      ignored_response: { status: 200, body: "ignored" },
      last_delivery: { received_at: "2024-01-01T00:00:00Z", outcome: "accepted", status: 200 },
    });
    const api = mockFetch({
      [`GET ${API}/webhooks`]: { body: { webhooks: [existing] } },
      [`GET ${DAGS}`]: { body: { dags: [{ dag_id: "payments" }] } },
      [`PUT ${API}/webhooks/hook_basic1`]: [{ body: existing }, { body: existing }],
    });
    const user = userEvent.setup();
    render(<AirflowPlugin />);
    await user.click(await screen.findByRole("button", { name: "Edit hook_basic1" }));
    expect(await screen.findByRole("heading", { name: "Edit webhook hook_basic1" })).toBeInTheDocument();
    expect(screen.queryByLabelText("Webhook id")).toBeNull();
    expect(screen.getByLabelText("Password")).toHaveValue("");
    await user.click(screen.getByRole("button", { name: "Save" }));
    await waitFor(() => expect(api.find("PUT", `${API}/webhooks/hook_basic1`)).toHaveLength(1));
    const sent = api.find("PUT", `${API}/webhooks/hook_basic1`)[0].body;
    expect(sent).toEqual({
      id: "hook_basic1",
      dag_id: "payments",
      mode: "sync",
      enabled: false,
      auth: {
        basic: { username: "alice", password_env: "HOOK_PW" },
        signature: { scheme: "stripe", secret_stored: true, previous_secret_env: "OLD", tolerance_seconds: 600 },
      },
      request: { query: [{ path: "a", alias: "x" }] },
      response: { status: 200, headers: { "X-A": "1" }, body: "ok" },
      sync: { timeout_seconds: 30 },
      dedupe: { key: "header:X-Id" },
      filter: [{ body: "event", in: ["a", "b"] }, { header: "X-Kind", equals: "42" }],
      ignored_response: { status: 200, body: "ignored" },
    });

    // again, typing a new password and a new secret
    await user.click(await screen.findByRole("button", { name: "Edit hook_basic1" }));
    await user.type(await screen.findByLabelText("Password"), "s3cret");
    await user.selectOptions(screen.getByLabelText("Secret source"), "literal");
    await user.type(screen.getByLabelText("Secret value"), "whsec_1");
    await user.click(screen.getByRole("button", { name: "Save" }));
    await waitFor(() => expect(api.find("PUT", `${API}/webhooks/hook_basic1`)).toHaveLength(2));
    const second = api.find("PUT", `${API}/webhooks/hook_basic1`)[1].body as Record<string, any>;
    expect(second.auth.basic).toEqual({ username: "alice", password: "s3cret" });
    expect(second.auth.signature).toEqual({
      scheme: "stripe",
      secret: "whsec_1",
      previous_secret_env: "OLD",
      tolerance_seconds: 600,
    });
  });

  it("listens for a test request and adds the captured paths", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    try {
      const sinces: string[] = [];
      const old = { captured_at: "2024-01-01T00:00:00+00:00", sample: {}, paths: { headers: ["x-old"], query: [], body: [] } };
      const fresh = {
        captured_at: "2024-01-02T00:00:00.5+00:00",
        sample: {},
        paths: { headers: ["x-github-event", "user-agent"], query: ["a"], body: ["ref", "repository.name"] },
        dropped_headers: ["authorization", "x-api-key"],
      };
      mockFetch({
        [`GET ${API}/webhooks`]: { body: { webhooks: [view({ request: { body: [{ path: "ref" }] } })] } },
        [`GET ${DAGS}`]: { body: { dags: [{ dag_id: "payments" }] } },
        [`GET ${API}/webhooks/hook_0001/sample`]: (call) => {
          const since = new URL(call.url, "http://x").searchParams.get("since") ?? "";
          sinces.push(since);
          if (since.startsWith("1970")) return { body: old };
          if (since === old.captured_at && sinces.length >= 4) return { body: fresh };
          return { status: 204 };
        },
      });
      const sampleCalls = () => sinces.length;
      const user = userEvent.setup({ advanceTimers: vi.advanceTimersByTime.bind(vi) });
      render(<AirflowPlugin />);
      await user.click(await screen.findByRole("button", { name: "Edit hook_0001" }));
      await user.click(await screen.findByRole("button", { name: "Listen for a test request" }));
      expect(await screen.findByText("http://localhost/webhook/test/hook_0001")).toBeInTheDocument();
      expect(screen.getByText(/curl -X POST 'http:\/\/localhost\/webhook\/test\/hook_0001/)).toBeInTheDocument();
      // the old capture is not shown
      await act(async () => {
        await vi.advanceTimersByTimeAsync(2100);
      });
      expect(screen.queryByRole("region", { name: "Captured test request" })).toBeNull();
      await act(async () => {
        await vi.advanceTimersByTimeAsync(2100);
      });
      const captured = await screen.findByRole("region", { name: "Captured test request" });
      expect(within(captured).getByText("Not kept, may carry a credential: authorization, x-api-key")).toBeInTheDocument();
      await user.click(within(captured).getByRole("button", { name: "Add all body" }));
      expect(paths("Body fields")).toEqual(["ref", "repository.name"]);
      await user.click(within(captured).getByRole("button", { name: "Add headers x-github-event" }));
      expect(paths("Headers fields", "Header")).toEqual(["x-github-event"]);
      expect(sinces.slice(0, 3)).toEqual(["1970-01-01T00:00:00+00:00", old.captured_at, old.captured_at]);
      expect(sinces.every((x) => x)).toBe(true);
      const before = sampleCalls();
      await user.click(screen.getByRole("button", { name: "Stop" }));
      await act(async () => {
        await vi.advanceTimersByTimeAsync(6000);
      });
      expect(sampleCalls()).toBe(before);
    } finally {
      vi.useRealTimers();
    }
  });
});
