import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import AirflowPlugin from "./main";
import { mockFetch, view } from "./test/fetchMock";

const API = "/webhook/api";

function renderPlugin(props: { dagId?: string } = {}) {
  const user = userEvent.setup();
  render(<AirflowPlugin {...props} />);
  return user;
}

describe("list", () => {
  it("renders one row per webhook and copies the URL", async () => {
    mockFetch({
      [`GET ${API}/webhooks`]: {
        body: {
          webhooks: [
            view({ id: "hook_b_0001", dag_id: "zeta", auth: { basic: { username: "u", password_env: "P" } } }),
            view({
              id: "hook_a_0001",
              dag_id: "alpha",
              mode: "sync",
              auth: { signature: { scheme: "github", secret_env: "GH" } },
              last_delivery: { received_at: new Date().toISOString(), outcome: "rejected", status: 401 },
            }),
          ],
        },
      },
    });
    const user = renderPlugin();
    expect(await screen.findByRole("heading", { name: "Webhooks" })).toBeInTheDocument();
    const row = await waitFor(() => {
      const found = document.querySelector('[data-webhook-id="hook_a_0001"]');
      expect(found).not.toBeNull();
      return found as HTMLElement;
    });
    // sorted by DAG: alpha first
    const rows = document.querySelectorAll("[data-webhook-id]");
    expect([...rows].map((r) => r.getAttribute("data-webhook-id"))).toEqual(["hook_a_0001", "hook_b_0001"]);
    expect(within(row).getByText("alpha")).toBeInTheDocument();
    expect(within(row).getByText("github")).toBeInTheDocument();
    expect(within(row).getByText("rejected")).toBeInTheDocument();
    expect(within(document.querySelector('[data-webhook-id="hook_b_0001"]') as HTMLElement).getByText("Basic")).toBeInTheDocument();
    const writeText = vi.fn().mockResolvedValue(undefined);
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
    await user.click(screen.getByRole("button", { name: "Copy URL of hook_a_0001" }));
    expect(writeText).toHaveBeenCalledWith("http://localhost/webhook/trigger/hook_a_0001");
    expect(await within(row).findByText("Copied")).toBeInTheDocument();
  });

  it("asks the API for one DAG's webhooks on a DAG tab", async () => {
    const api = mockFetch({ [`GET ${API}/webhooks?dag_id=payments`]: { body: { webhooks: [view()] } } });
    renderPlugin({ dagId: "payments" });
    await screen.findByRole("button", { name: "Edit hook_0001" });
    expect(api.find("GET", `${API}/webhooks`).map((c) => c.url)).toEqual([`${API}/webhooks?dag_id=payments`]);
  });

  it("the enabled switch PATCHes enabled", async () => {
    const api = mockFetch({
      [`GET ${API}/webhooks`]: { body: { webhooks: [view()] } },
      [`PATCH ${API}/webhooks/hook_0001`]: { body: view({ enabled: false }) },
    });
    const user = renderPlugin();
    const toggle = await screen.findByRole("checkbox", { name: "Enabled hook_0001" });
    expect(toggle).toBeChecked();
    await user.click(toggle);
    await waitFor(() => expect(api.find("PATCH", `${API}/webhooks/hook_0001`)).toHaveLength(1));
    const patch = api.find("PATCH", `${API}/webhooks/hook_0001`)[0];
    expect(patch.body).toEqual({ enabled: false });
    expect(patch.headers["Content-Type"]).toBe("application/json");
    await waitFor(() => expect(screen.getByRole("checkbox", { name: "Enabled hook_0001" })).not.toBeChecked());
  });

  it("delete asks for confirmation, then DELETEs and refreshes", async () => {
    const api = mockFetch({
      [`GET ${API}/webhooks`]: [{ body: { webhooks: [view()] } }, { body: { webhooks: [] } }],
      [`DELETE ${API}/webhooks/hook_0001`]: { status: 204 },
    });
    const user = renderPlugin();
    await user.click(await screen.findByRole("button", { name: "Delete hook_0001" }));
    const dialog = await screen.findByRole("alertdialog");
    expect(dialog).toHaveTextContent("hook_0001");
    expect(api.find("DELETE", `${API}/webhooks`)).toHaveLength(0);
    await user.click(within(dialog).getByRole("button", { name: "Delete" }));
    await waitFor(() => expect(api.find("DELETE", `${API}/webhooks/hook_0001`)).toHaveLength(1));
    // a body-less write with the cookie proves it comes from a script (the API refuses it otherwise)
    expect(api.find("DELETE", `${API}/webhooks/hook_0001`)[0].headers["X-Requested-With"]).toBeTruthy();
    await waitFor(() => expect(document.querySelector("[data-webhook-id]")).toBeNull());
    expect(api.find("GET", `${API}/webhooks`)).toHaveLength(2);
  });

  it("cancelling the confirmation deletes nothing", async () => {
    const api = mockFetch({ [`GET ${API}/webhooks`]: { body: { webhooks: [view()] } } });
    const user = renderPlugin();
    await user.click(await screen.findByRole("button", { name: "Delete hook_0001" }));
    const dialog = await screen.findByRole("alertdialog");
    await user.click(within(dialog).getByRole("button", { name: "Cancel" }));
    await waitFor(() => expect(screen.queryByRole("alertdialog")).toBeNull());
    expect(api.find("DELETE", `${API}/webhooks`)).toHaveLength(0);
  });

  it("a 403 shows the permission message with the API's words", async () => {
    mockFetch({ [`GET ${API}/webhooks`]: { status: 403, body: { error: "user alice lacks GET on connections" } } });
    renderPlugin();
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("Connections permissions");
    expect(alert).toHaveTextContent("user alice lacks GET on connections");
  });

  it("a 401 redirects to Airflow's login", async () => {
    mockFetch({ [`GET ${API}/webhooks`]: { status: 401, body: { error: "no token" } } });
    const replace = vi.fn();
    const original = window.location;
    Object.defineProperty(window, "location", {
      value: { ...original, href: "http://localhost/plugin/webhooks", replace },
      configurable: true,
    });
    try {
      renderPlugin();
      await waitFor(() => expect(replace).toHaveBeenCalledTimes(1));
      expect(replace.mock.calls[0][0]).toBe(
        "http://localhost/airflow/api/v2/auth/login?next=" + encodeURIComponent("http://localhost/plugin/webhooks"),
      );
    } finally {
      Object.defineProperty(window, "location", { value: original, configurable: true });
    }
  });

  it("reads the API base from WebhookTriggerConfig", async () => {
    globalThis.WebhookTriggerConfig = { apiBase: "/airflow/webhook/api" };
    try {
      const api = mockFetch({ ["GET /airflow/webhook/api/webhooks"]: { body: { webhooks: [view()] } } });
      renderPlugin();
      await screen.findByRole("button", { name: "Edit hook_0001" });
      expect(api.calls[0].url).toBe("/airflow/webhook/api/webhooks");
    } finally {
      delete globalThis.WebhookTriggerConfig;
    }
  });
});

describe("deliveries", () => {
  const delivery = (id: string, overrides: Record<string, unknown> = {}) => ({
    id,
    webhook_id: "hook_0001",
    received_at: new Date().toISOString(),
    outcome: "accepted",
    status: 202,
    error: null,
    dag_id: "payments",
    run_id: `webhook__${id}`,
    delivery_key: null,
    duration_ms: 12.4,
    replay_of: null,
    ...overrides,
  });

  it("lists deliveries, replays an accepted one and refreshes", async () => {
    const a = "a".repeat(32);
    const r = "b".repeat(32);
    const n = "c".repeat(32);
    const api = mockFetch({
      [`GET ${API}/webhooks`]: { body: { webhooks: [view()] } },
      [`GET ${API}/webhooks/hook_0001/deliveries?limit=50`]: [
        {
          body: {
            deliveries: [
              delivery(a, { run_id: "manual__2024-01-01T00:00:00+00:00" }),
              delivery(r, { outcome: "rejected", status: 401, error: "bad signature", run_id: null, dag_id: null }),
            ],
          },
        },
        { body: { deliveries: [delivery(n, { replay_of: a }), delivery(a), delivery(r, { outcome: "rejected" })] } },
      ],
      [`POST ${API}/deliveries/${a}/replay`]: { status: 201, body: delivery(n, { run_id: "webhook__replayed", replay_of: a }) },
    });
    const user = renderPlugin();
    await user.click(await screen.findByRole("button", { name: "Deliveries of hook_0001" }));
    expect(await screen.findByRole("heading", { name: "Deliveries of hook_0001" })).toBeInTheDocument();
    const rowA = await waitFor(() => document.querySelector(`[data-delivery-id="${a}"]`) as HTMLElement);
    const rowR = document.querySelector(`[data-delivery-id="${r}"]`) as HTMLElement;
    expect(rowR).toHaveTextContent("bad signature");
    expect(within(rowR).queryByRole("button", { name: "Replay" })).toBeNull();
    const link = within(rowA).getByRole("link");
    expect(link).toHaveAttribute(
      "href",
      "http://localhost/airflow/dags/payments/runs/" + encodeURIComponent("manual__2024-01-01T00:00:00+00:00"),
    );
    await user.click(within(rowA).getByRole("button", { name: "Replay" }));
    await waitFor(() => expect(api.find("POST", `${API}/deliveries/${a}/replay`)).toHaveLength(1));
    expect(api.find("POST", `${API}/deliveries/${a}/replay`)[0].headers["X-Requested-With"]).toBeTruthy();
    expect(await screen.findByText("webhook__replayed")).toBeInTheDocument();
    await waitFor(() => expect(document.querySelector(`[data-delivery-id="${n}"]`)).not.toBeNull());
    await user.click(screen.getByRole("button", { name: "Back" }));
    expect(await screen.findByRole("heading", { name: "Webhooks" })).toBeInTheDocument();
  });

  it("shows a replay's refusal verbatim", async () => {
    const a = "a".repeat(32);
    mockFetch({
      [`GET ${API}/webhooks`]: { body: { webhooks: [view()] } },
      [`GET ${API}/webhooks/hook_0001/deliveries?limit=50`]: { body: { deliveries: [delivery(a)] } },
      [`POST ${API}/deliveries/${a}/replay`]: {
        status: 404,
        body: { error: `the run of delivery ${a} (webhook__x) no longer exists` },
      },
    });
    const user = renderPlugin();
    await user.click(await screen.findByRole("button", { name: "Deliveries of hook_0001" }));
    await user.click(await screen.findByRole("button", { name: "Replay" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(`the run of delivery ${a} (webhook__x) no longer exists`);
  });
});
