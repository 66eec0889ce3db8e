// Pure functions: a webhook document <-> the editor's form state; merging parsed paths into rows.
import type { FieldDoc, FilterDoc, ResponseDoc, SchemeInfo, SignatureDoc, WebhookDocument } from "./api";

export const PARTS = ["headers", "query", "body"] as const;
export type Part = (typeof PARTS)[number];
export const FILTER_PARTS = ["header", "query", "body"] as const;
export type FilterPart = (typeof FILTER_PARTS)[number];
export const OPERATORS = ["equals", "in", "not_in", "exists", "matches"] as const;
export type Operator = (typeof OPERATORS)[number];
export type SecretSource = "env" | "conn" | "literal" | "stored";

let nextKey = 1;
export function newKey(): number {
  return nextKey++;
}

export interface FieldRow {
  key: number;
  path: string;
  alias: string;
}

export interface FilterRow {
  key: number;
  part: FilterPart;
  path: string;
  op: Operator;
  value: string;
}

export interface FormState {
  id: string;
  dagId: string;
  mode: "async" | "sync";
  enabled: boolean;
  basic: boolean;
  username: string;
  password: string;
  passwordEnv: string;
  scheme: string; // "" = none
  secretSource: SecretSource;
  secretEnv: string;
  secretConnId: string;
  secret: string;
  hadStoredSecret: boolean;
  tolerance: string;
  hmacHeader: string;
  algorithm: string;
  encoding: string;
  prefix: string;
  responseStatus: string;
  responseKind: "json" | "text";
  responseBody: string;
  syncTimeout: string;
  dedupe: "none" | "auto" | "custom";
  dedupeKey: string;
  filters: FilterRow[];
  fields: Record<Part, FieldRow[]>;
}

export function emptyForm(dagId = ""): FormState {
  return {
    id: "",
    dagId,
    mode: "async",
    enabled: true,
    basic: false,
    username: "",
    password: "",
    passwordEnv: "",
    scheme: "",
    secretSource: "env",
    secretEnv: "",
    secretConnId: "",
    secret: "",
    hadStoredSecret: false,
    tolerance: "",
    hmacHeader: "",
    algorithm: "sha256",
    encoding: "hex",
    prefix: "",
    responseStatus: "",
    responseKind: "json",
    responseBody: "",
    syncTimeout: "",
    dedupe: "none",
    dedupeKey: "",
    filters: [],
    fields: { headers: [], query: [], body: [] },
  };
}

function rowsOf(fields: FieldDoc[] | undefined, key: "name" | "path"): FieldRow[] {
  return (fields ?? []).map((f) => ({ key: newKey(), path: f[key] ?? "", alias: f.alias ?? "" }));
}

/** A JSON scalar as the user types it: strings that would read back as another value are quoted. */
export function scalarText(value: unknown): string {
  if (typeof value === "string") {
    try {
      JSON.parse(value);
      return JSON.stringify(value); // "123", "true", "null", "\"x\"": keep them strings
    } catch {
      return value;
    }
  }
  return JSON.stringify(value);
}

/** What the user typed as a JSON scalar where it parses, else the text itself. */
export function parseScalar(text: string): unknown {
  const trimmed = text.trim();
  try {
    const value = JSON.parse(trimmed) as unknown;
    if (value === null || typeof value !== "object") return value;
  } catch {
    // a plain string
  }
  return text;
}

/** A JSON array, or comma-separated values (each a JSON scalar where it parses). */
export function parseList(text: string): unknown[] {
  const trimmed = text.trim();
  if (trimmed.startsWith("[")) {
    try {
      const value = JSON.parse(trimmed) as unknown;
      if (Array.isArray(value)) return value;
    } catch {
      // fall back to comma-separated
    }
  }
  if (!trimmed) return [];
  return trimmed.split(",").map((item) => parseScalar(item.trim()));
}

function filterRow(doc: FilterDoc): FilterRow {
  const part = FILTER_PARTS.find((p) => p in doc) ?? "body";
  const op = OPERATORS.find((o) => o in doc) ?? "equals";
  const raw = doc[op];
  let value: string;
  if (op === "in" || op === "not_in") value = JSON.stringify(raw ?? []);
  else if (op === "exists") value = raw === false ? "false" : "true";
  else if (op === "matches") value = typeof raw === "string" ? raw : String(raw ?? "");
  else value = scalarText(raw);
  return { key: newKey(), part, path: String(doc[part] ?? ""), op, value };
}

export function formFromDocument(doc: WebhookDocument): FormState {
  const form = emptyForm(doc.dag_id);
  form.id = doc.id ?? "";
  form.mode = doc.mode ?? "async";
  form.enabled = doc.enabled ?? true;
  const basic = doc.auth?.basic;
  if (basic) {
    form.basic = true;
    form.username = basic.username ?? "";
    form.passwordEnv = basic.password_env ?? "";
  }
  const sig = doc.auth?.signature;
  if (sig) {
    form.scheme = sig.scheme;
    if (sig.secret_env !== undefined) {
      form.secretSource = "env";
      form.secretEnv = sig.secret_env;
    } else if (sig.secret_conn_id !== undefined) {
      form.secretSource = "conn";
      form.secretConnId = sig.secret_conn_id;
    } else if (sig.secret_stored) {
      form.secretSource = "stored";
      form.hadStoredSecret = true;
    } else {
      form.secretSource = "literal";
    }
    form.tolerance = sig.tolerance_seconds !== undefined ? String(sig.tolerance_seconds) : "";
    form.hmacHeader = sig.header ?? "";
    form.algorithm = sig.algorithm ?? "sha256";
    form.encoding = sig.encoding ?? "hex";
    form.prefix = sig.prefix ?? "";
  }
  const response = doc.response;
  if (response) {
    form.responseStatus = response.status !== undefined ? String(response.status) : "";
    if (typeof response.body === "string") {
      form.responseKind = "text";
      form.responseBody = response.body;
    } else if (response.body !== undefined) {
      form.responseKind = "json";
      form.responseBody = JSON.stringify(response.body, null, 2);
    }
  }
  const timeout = doc.sync?.timeout_seconds;
  form.syncTimeout = timeout === undefined || timeout === null ? "" : String(timeout);
  if (doc.dedupe) {
    form.dedupe = doc.dedupe.key === "auto" ? "auto" : "custom";
    form.dedupeKey = doc.dedupe.key === "auto" ? "" : doc.dedupe.key;
  }
  form.filters = (doc.filter ?? []).map(filterRow);
  form.fields = {
    headers: rowsOf(doc.request?.headers, "name"),
    query: rowsOf(doc.request?.query, "path"),
    body: rowsOf(doc.request?.body, "path"),
  };
  return form;
}

function fieldDocs(rows: FieldRow[], key: "name" | "path"): FieldDoc[] {
  return rows
    .filter((r) => r.path.trim())
    .map((r) => (r.alias.trim() ? { [key]: r.path.trim(), alias: r.alias.trim() } : { [key]: r.path.trim() }));
}

function filterDoc(row: FilterRow): FilterDoc {
  let value: unknown;
  if (row.op === "in" || row.op === "not_in") value = parseList(row.value);
  else if (row.op === "exists") value = row.value.trim() !== "false";
  else if (row.op === "matches") value = row.value;
  else value = parseScalar(row.value);
  return { [row.part]: row.path.trim(), [row.op]: value };
}

/** A form's problem the server would refuse anyway, said before sending; null when none. */
export function formProblem(form: FormState): string | null {
  if (!form.dagId.trim()) return "Choose the DAG this webhook triggers.";
  if (form.responseKind === "json" && form.responseBody.trim()) {
    try {
      JSON.parse(form.responseBody);
    } catch {
      return "The response body is not valid JSON (choose Text to send it as text).";
    }
  }
  for (const [label, text] of [
    ["Response status", form.responseStatus],
    ["Tolerance", form.tolerance],
    ["Sync timeout", form.syncTimeout],
  ] as const) {
    if (text.trim() && !Number.isFinite(Number(text))) return `${label} must be a number.`;
  }
  return null;
}

/**
 * The document to send. `original` is the document as read (edit): keys the form does not
 * show (response headers, ignored_response, a previous secret, request.allow_empty_body) are
 * kept as they were.
 */
/**
 * `scheme`: the chosen scheme's record, from GET /schemes: whether its signature covers a
 * timestamp (then tolerance_seconds applies) and which options it takes.
 */
export function documentFromForm(form: FormState, original?: WebhookDocument, scheme?: SchemeInfo): WebhookDocument {
  const doc: WebhookDocument = { dag_id: form.dagId.trim() };
  if (original?.id) doc.id = original.id;
  else if (form.id.trim()) doc.id = form.id.trim();
  doc.mode = form.mode;
  doc.enabled = form.enabled;

  const auth: NonNullable<WebhookDocument["auth"]> = {};
  if (form.basic) {
    auth.basic = form.password
      ? { username: form.username, password: form.password }
      : { username: form.username, password_env: form.passwordEnv.trim() };
  }
  if (form.scheme) {
    const sig: SignatureDoc = { scheme: form.scheme };
    if (form.secretSource === "env") sig.secret_env = form.secretEnv.trim();
    else if (form.secretSource === "conn") sig.secret_conn_id = form.secretConnId.trim();
    else if (form.secretSource === "literal") sig.secret = form.secret;
    else sig.secret_stored = true;
    const previous = original?.auth?.signature;
    if (previous) {
      for (const key of ["previous_secret_env", "previous_secret_conn_id", "previous_secret_stored"] as const) {
        if (previous[key] !== undefined) (sig as unknown as Record<string, unknown>)[key] = previous[key];
      }
    }
    const known = scheme?.name === form.scheme ? scheme : undefined;
    const takes = new Set(known?.options ?? []);
    if (known?.timestamped && form.tolerance.trim()) sig.tolerance_seconds = Number(form.tolerance);
    if (takes.has("header") && form.hmacHeader.trim()) sig.header = form.hmacHeader.trim();
    if (takes.has("algorithm")) sig.algorithm = form.algorithm;
    if (takes.has("encoding")) sig.encoding = form.encoding;
    if (takes.has("prefix") && form.prefix) sig.prefix = form.prefix;
    auth.signature = sig;
  }
  if (auth.basic || auth.signature) doc.auth = auth;

  const request: NonNullable<WebhookDocument["request"]> = {};
  const headers = fieldDocs(form.fields.headers, "name");
  const query = fieldDocs(form.fields.query, "path");
  const body = fieldDocs(form.fields.body, "path");
  if (headers.length) request.headers = headers;
  if (query.length) request.query = query;
  if (body.length) request.body = body;
  // not shown in the form: kept as it was read
  if (original?.request?.allow_empty_body !== undefined) request.allow_empty_body = original.request.allow_empty_body;
  if (Object.keys(request).length) doc.request = request;

  const response: ResponseDoc = {};
  if (form.responseStatus.trim()) response.status = Number(form.responseStatus);
  if (original?.response?.headers && Object.keys(original.response.headers).length) {
    response.headers = original.response.headers;
  }
  if (form.responseKind === "json") {
    if (form.responseBody.trim()) response.body = JSON.parse(form.responseBody) as unknown;
  } else if (form.responseBody !== "" || (original && typeof original.response?.body === "string")) {
    response.body = form.responseBody;
  }
  if (Object.keys(response).length) doc.response = response;

  if (form.mode === "sync" && form.syncTimeout.trim()) doc.sync = { timeout_seconds: Number(form.syncTimeout) };
  if (form.dedupe === "auto") doc.dedupe = { key: "auto" };
  else if (form.dedupe === "custom" && form.dedupeKey.trim()) doc.dedupe = { key: form.dedupeKey.trim() };
  if (form.filters.length) doc.filter = form.filters.filter((f) => f.path.trim()).map(filterDoc);
  if (doc.filter && !doc.filter.length) delete doc.filter;
  if (original?.ignored_response) doc.ignored_response = original.ignored_response;
  return doc;
}

function same(part: Part, a: string, b: string): boolean {
  return part === "headers" ? a.toLowerCase() === b.toLowerCase() : a === b;
}

/** The rows plus one per path not already there (headers compare case-insensitively). */
export function mergePaths(part: Part, rows: FieldRow[], paths: string[]): FieldRow[] {
  const out = [...rows];
  for (const path of paths) {
    if (!path || out.some((r) => same(part, r.path, path))) continue;
    out.push({ key: newKey(), path, alias: "" });
  }
  return out;
}

/** Which kind of auth a webhook has: none / Basic / the scheme / both. */
export function authKind(doc: WebhookDocument): string {
  const basic = !!doc.auth?.basic;
  const scheme = doc.auth?.signature?.scheme;
  if (basic && scheme) return `Basic + ${scheme}`;
  if (basic) return "Basic";
  if (scheme) return scheme;
  return "none";
}

export function relativeTime(iso: string, now = Date.now()): string {
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return iso;
  const seconds = Math.round((then - now) / 1000);
  const format = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  const units: [Intl.RelativeTimeFormatUnit, number][] = [
    ["day", 86400],
    ["hour", 3600],
    ["minute", 60],
  ];
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) return format.format(Math.round(seconds / size), unit);
  }
  return format.format(seconds, "second");
}
