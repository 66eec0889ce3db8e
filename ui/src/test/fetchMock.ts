// A fetch mock answering per "METHOD path" (path relative to the API base or to Airflow's base).
import { vi } from "vitest";

export interface Call {
  method: string;
  url: string;
  body: unknown;
  headers: Record<string, string>;
}

const SCHEMES = ["github", "stripe", "slack", "shopify", "standard-webhooks", "twilio", "hmac"].map((name) => ({
  name,
  doc: "",
  timestamped: ["stripe", "slack", "standard-webhooks"].includes(name),
  options: name === "hmac" ? ["header", "algorithm", "encoding", "prefix"] : [],
  signed: [],
}));

type Answer = { status?: number; body?: unknown } | ((call: Call) => { status?: number; body?: unknown });

export function mockFetch(routes: Record<string, Answer | Answer[]>) {
  const calls: Call[] = [];
  const queues = new Map<string, Answer[]>();
  for (const [key, answer] of Object.entries(routes)) queues.set(key, Array.isArray(answer) ? [...answer] : [answer]);
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = new URL(String(input), document.baseURI);
    const method = (init.method ?? "GET").toUpperCase();
    const body = typeof init.body === "string" ? (JSON.parse(init.body) as unknown) : undefined;
    const headers = (init.headers ?? {}) as Record<string, string>;
    const call = { method, url: url.pathname + url.search, body, headers };
    calls.push(call);
    const queue = queues.get(`${method} ${call.url}`) ?? queues.get(`${method} ${url.pathname}`);
    if ((!queue || !queue.length) && method === "GET" && url.pathname.endsWith("/api/schemes")) {
      // the server's sender records, as GET /schemes answers (tests/web/test_management_api.py)
      return new Response(JSON.stringify({ schemes: SCHEMES }), { headers: { "Content-Type": "application/json" } });
    }
    if (!queue || !queue.length) {
      return new Response(JSON.stringify({ error: `no mock for ${method} ${call.url}` }), { status: 500 });
    }
    const answer = queue.length > 1 ? queue.shift()! : queue[0];
    const { status = 200, body: out } = typeof answer === "function" ? answer(call) : answer;
    if (status === 204) return new Response(null, { status });
    return new Response(out === undefined ? "" : JSON.stringify(out), {
      status,
      headers: { "Content-Type": "application/json" },
    });
  });
  vi.stubGlobal("fetch", fetchMock);
  return {
    calls,
    fetchMock,
    find: (method: string, path: string) => calls.filter((c) => c.method === method && c.url.startsWith(path)),
  };
}

export function view(overrides: Record<string, unknown> = {}) {
  const id = (overrides.id as string) ?? "hook_0001";
  return {
    id,
    dag_id: "payments",
    mode: "async",
    enabled: true,
    response: { status: 202, body: { status: "queued" } },
    url: `http://localhost/webhook/trigger/${id}`,
    test_url: `http://localhost/webhook/test/${id}`,
    last_delivery: null,
    ...overrides,
  };
}
