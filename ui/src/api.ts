// The management API's client: one request() mapping 401 / 403 / errors.

export type Outcome = "accepted" | "duplicate" | "filtered" | "rejected" | "handshake";

export interface FieldDoc {
  name?: string;
  path?: string;
  alias?: string;
}

export interface SignatureDoc {
  scheme: string;
  secret_env?: string;
  secret_conn_id?: string;
  secret?: string;
  secret_stored?: true;
  previous_secret_env?: string;
  previous_secret_conn_id?: string;
  previous_secret?: string;
  previous_secret_stored?: true;
  tolerance_seconds?: number;
  header?: string;
  algorithm?: string;
  encoding?: string;
  prefix?: string;
}

/** A signature scheme, as the server's sender record describes it (GET /schemes). */
export interface SchemeInfo {
  name: string;
  doc: string;
  timestamped: boolean;
  options: string[];
  signed: string[];
}

export interface BasicDoc {
  username: string;
  password?: string;
  password_env?: string;
}

export interface ResponseDoc {
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export type FilterDoc = Record<string, unknown>;

export interface WebhookDocument {
  id?: string;
  dag_id: string;
  mode?: "async" | "sync";
  enabled?: boolean;
  auth?: { basic?: BasicDoc | null; signature?: SignatureDoc | null } | null;
  request?: { headers?: FieldDoc[]; query?: FieldDoc[]; body?: FieldDoc[]; allow_empty_body?: boolean };
  response?: ResponseDoc;
  sync?: { timeout_seconds?: number | null };
  dedupe?: { key: string } | null;
  filter?: FilterDoc[] | null;
  ignored_response?: ResponseDoc | null;
}

export interface LastDelivery {
  received_at: string;
  outcome: Outcome;
  status: number | null;
}

export interface WebhookView extends WebhookDocument {
  id: string;
  mode: "async" | "sync";
  enabled: boolean;
  url: string;
  test_url?: string;
  last_delivery?: LastDelivery | null;
  warnings?: string[];
}

export interface Delivery {
  id: string;
  webhook_id?: string;
  received_at: string;
  outcome: Outcome;
  status: number | null;
  error: string | null;
  dag_id: string | null;
  run_id: string | null;
  delivery_key: string | null;
  duration_ms: number | null;
  replay_of: string | null;
}

export interface ParsedSample {
  part: "query" | "body";
  paths: string[];
}

export interface Capture {
  captured_at: string;
  sample: unknown;
  paths: { headers: string[]; query: string[]; body: string[] };
  /** Names of the headers the capture left out because they may carry a credential. */
  dropped_headers?: string[];
}

/** An error answered by the API: `message` is the API's own words. */
export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

declare global {
  // eslint-disable-next-line no-var
  var WebhookTriggerConfig: { apiBase?: string; version?: string } | undefined;
}

export function apiBase(): string {
  const base = globalThis.WebhookTriggerConfig?.apiBase ?? "/webhook/api";
  return base.replace(/\/+$/, "");
}

/** Airflow's own URL for a path relative to its `<base href>`. */
export function airflowUrl(path: string): string {
  return new URL(path, document.baseURI).href;
}

export function runUrl(dagId: string, runId: string): string {
  return airflowUrl(`dags/${dagId}/runs/${encodeURIComponent(runId)}`);
}

export function loginRedirect(): void {
  window.location.replace(
    airflowUrl("api/v2/auth/login") + "?next=" + encodeURIComponent(window.location.href),
  );
}

async function errorText(response: Response): Promise<string> {
  const text = await response.text().catch(() => "");
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === "object" && "error" in parsed) {
      const error = (parsed as { error: unknown }).error;
      if (typeof error === "string") return error;
    }
  } catch {
    // not JSON: fall through
  }
  return text.trim() || `HTTP ${response.status} ${response.statusText}`.trim();
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  // X-Requested-With: the API refuses a cookie-authenticated write with no body without it
  // (a cross-site form cannot send it)
  const headers = { Accept: "application/json", "X-Requested-With": "airflow-webhook-trigger" };
  const init: RequestInit = { method, credentials: "same-origin", headers };
  if (body !== undefined) {
    init.headers = { ...headers, "Content-Type": "application/json" };
    init.body = JSON.stringify(body);
  }
  let response: Response;
  try {
    response = await fetch(apiBase() + path, init);
  } catch (exc) {
    throw new ApiError(0, `the webhook API did not answer: ${exc instanceof Error ? exc.message : String(exc)}`);
  }
  if (response.status === 401) {
    loginRedirect();
    throw new ApiError(401, await errorText(response));
  }
  if (!response.ok) throw new ApiError(response.status, await errorText(response));
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

const enc = encodeURIComponent;

export const api = {
  list: (dagId?: string) =>
    request<{ webhooks: WebhookView[] }>("GET", "/webhooks" + (dagId ? `?dag_id=${enc(dagId)}` : "")),
  create: (doc: WebhookDocument) => request<WebhookView>("POST", "/webhooks", doc),
  replace: (id: string, doc: WebhookDocument) => request<WebhookView>("PUT", `/webhooks/${enc(id)}`, doc),
  patch: (id: string, changes: Partial<WebhookDocument>) =>
    request<WebhookView>("PATCH", `/webhooks/${enc(id)}`, changes),
  remove: (id: string) => request<void>("DELETE", `/webhooks/${enc(id)}`),
  schemes: () => request<{ schemes: SchemeInfo[] }>("GET", "/schemes"),
  parseSample: (sample: string, form: boolean) => request<ParsedSample>("POST", "/parse-sample", { sample, form }),
  /** The latest capture newer than `since` (server time), or undefined (204): never a 404 for a page polling. */
  sampleSince: (id: string, since: string) =>
    request<Capture | undefined>("GET", `/webhooks/${enc(id)}/sample?since=${enc(since)}`),
  deliveries: (id: string, limit = 50) =>
    request<{ deliveries: Delivery[] }>("GET", `/webhooks/${enc(id)}/deliveries?limit=${limit}`),
  replay: (deliveryId: string) => request<Delivery>("POST", `/deliveries/${enc(deliveryId)}/replay`),
};

/** The DAG ids Airflow knows, or null when its API cannot be read. */
export async function listDagIds(): Promise<string[] | null> {
  try {
    const response = await fetch(airflowUrl("api/v2/dags?limit=1000&order_by=dag_id"), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    if (!response.ok) return null;
    const data = (await response.json()) as { dags?: { dag_id: string }[] };
    return Array.isArray(data.dags) ? data.dags.map((d) => d.dag_id) : null;
  } catch {
    return null;
  }
}
