import {
  Box,
  Button,
  Field,
  Fieldset,
  Flex,
  Heading,
  HStack,
  Input,
  NativeSelect,
  SimpleGrid,
  Stack,
  Text,
  Textarea,
} from "../chakra";
import { useEffect, useState, type ReactNode } from "react";
import { api, listDagIds, type SchemeInfo, type WebhookView } from "../api";
import { ErrorAlert, LabeledCheckbox } from "../components";
import {
  documentFromForm,
  emptyForm,
  FILTER_PARTS,
  formFromDocument,
  formProblem,
  mergePaths,
  newKey,
  OPERATORS,
  type FieldRow,
  type FilterRow,
  type FormState,
  type Part,
} from "../document";
import { Listener } from "./Listener";

function TextField({
  label,
  value,
  onChange,
  helper,
  placeholder,
  type = "text",
  disabled,
}: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  helper?: string;
  placeholder?: string;
  type?: string;
  disabled?: boolean;
}) {
  return (
    <Field.Root disabled={disabled}>
      <Field.Label>{label}</Field.Label>
      <Input
        size="sm"
        type={type}
        value={value}
        placeholder={placeholder}
        autoComplete={type === "password" ? "new-password" : "off"}
        onChange={(e) => onChange(e.target.value)}
      />
      {helper && <Field.HelperText>{helper}</Field.HelperText>}
    </Field.Root>
  );
}

function SelectField({
  label,
  value,
  options,
  onChange,
  helper,
}: {
  label: string;
  value: string;
  options: readonly (readonly [string, string])[];
  onChange: (value: string) => void;
  helper?: string;
}) {
  return (
    <Field.Root>
      <Field.Label>{label}</Field.Label>
      <NativeSelect.Root size="sm">
        <NativeSelect.Field value={value} onChange={(e) => onChange(e.currentTarget.value)}>
          {options.map(([v, text]) => (
            <option key={v} value={v}>
              {text}
            </option>
          ))}
        </NativeSelect.Field>
        <NativeSelect.Indicator />
      </NativeSelect.Root>
      {helper && <Field.HelperText>{helper}</Field.HelperText>}
    </Field.Root>
  );
}

function Section({ title, children }: { title: string; children: ReactNode }) {
  return (
    <Fieldset.Root borderWidth="1px" borderColor="border" rounded="md" p="4">
      <Fieldset.Legend fontWeight="semibold" px="1">
        {title}
      </Fieldset.Legend>
      <Stack gap="3">{children}</Stack>
    </Fieldset.Root>
  );
}

const PART_TITLE: Record<Part, string> = { headers: "Headers", query: "Query", body: "Body" };

function FieldRows({
  part,
  rows,
  onChange,
}: {
  part: Part;
  rows: FieldRow[];
  onChange: (rows: FieldRow[]) => void;
}) {
  const pathLabel = part === "headers" ? "Header" : "Path";
  const update = (key: number, change: Partial<FieldRow>) =>
    onChange(rows.map((r) => (r.key === key ? { ...r, ...change } : r)));
  return (
    <Box as="section" aria-label={`${PART_TITLE[part]} fields`}>
      <Text fontWeight="semibold" fontSize="sm" mb="1">
        {PART_TITLE[part]}
      </Text>
      <Stack gap="2">
        {rows.map((row) => (
          <HStack key={row.key} gap="2">
            <Input
              size="sm"
              aria-label={pathLabel}
              placeholder={part === "headers" ? "X-Header-Name" : "a.b.c"}
              value={row.path}
              onChange={(e) => update(row.key, { path: e.target.value })}
            />
            <Input
              size="sm"
              aria-label="Alias"
              placeholder="alias (optional)"
              value={row.alias}
              onChange={(e) => update(row.key, { alias: e.target.value })}
            />
            <Button
              size="sm"
              variant="ghost"
              colorPalette="red"
              aria-label={`Remove ${row.path || "empty row"}`}
              onClick={() => onChange(rows.filter((r) => r.key !== row.key))}
            >
              Remove
            </Button>
          </HStack>
        ))}
        <Box>
          <Button
            size="xs"
            variant="outline"
            onClick={() => onChange([...rows, { key: newKey(), path: "", alias: "" }])}
          >
            Add field
          </Button>
        </Box>
      </Stack>
    </Box>
  );
}

function FilterRows({ rows, onChange }: { rows: FilterRow[]; onChange: (rows: FilterRow[]) => void }) {
  const update = (key: number, change: Partial<FilterRow>) =>
    onChange(rows.map((r) => (r.key === key ? { ...r, ...change } : r)));
  return (
    <Stack gap="2">
      {rows.map((row, i) => (
        <HStack key={row.key} gap="2" align="start">
          <NativeSelect.Root size="sm" width="28">
            <NativeSelect.Field
              aria-label="Filter part"
              value={row.part}
              onChange={(e) => update(row.key, { part: e.currentTarget.value as FilterRow["part"] })}
            >
              {FILTER_PARTS.map((p) => (
                <option key={p} value={p}>
                  {p}
                </option>
              ))}
            </NativeSelect.Field>
            <NativeSelect.Indicator />
          </NativeSelect.Root>
          <Input
            size="sm"
            aria-label="Filter path"
            placeholder={row.part === "header" ? "X-Event" : "a.b"}
            value={row.path}
            onChange={(e) => update(row.key, { path: e.target.value })}
          />
          <NativeSelect.Root size="sm" width="32">
            <NativeSelect.Field
              aria-label="Operator"
              value={row.op}
              onChange={(e) => {
                const op = e.currentTarget.value as FilterRow["op"];
                update(row.key, { op, value: op === "exists" ? "true" : row.op === "exists" ? "" : row.value });
              }}
            >
              {OPERATORS.map((o) => (
                <option key={o} value={o}>
                  {o}
                </option>
              ))}
            </NativeSelect.Field>
            <NativeSelect.Indicator />
          </NativeSelect.Root>
          {row.op === "exists" ? (
            <NativeSelect.Root size="sm">
              <NativeSelect.Field
                aria-label="Filter value"
                value={row.value === "false" ? "false" : "true"}
                onChange={(e) => update(row.key, { value: e.currentTarget.value })}
              >
                <option value="true">present</option>
                <option value="false">absent</option>
              </NativeSelect.Field>
              <NativeSelect.Indicator />
            </NativeSelect.Root>
          ) : (
            <Input
              size="sm"
              aria-label="Filter value"
              placeholder={
                row.op === "in" || row.op === "not_in"
                  ? 'a, b, 3 or ["a", 3]'
                  : row.op === "matches"
                    ? "regular expression"
                    : 'value (JSON scalar or text: 42, true, "42")'
              }
              value={row.value}
              onChange={(e) => update(row.key, { value: e.target.value })}
            />
          )}
          <Button
            size="sm"
            variant="ghost"
            colorPalette="red"
            aria-label={`Remove filter ${i + 1}`}
            onClick={() => onChange(rows.filter((r) => r.key !== row.key))}
          >
            Remove
          </Button>
        </HStack>
      ))}
      <Box>
        <Button
          size="xs"
          variant="outline"
          onClick={() =>
            onChange([...rows, { key: newKey(), part: "body", path: "", op: "equals", value: "" }])
          }
        >
          Add filter
        </Button>
      </Box>
    </Stack>
  );
}

/** One text input, with Airflow's DAG ids as suggestions when its API answers (free text otherwise). */
function DagField({ value, onChange, dags }: { value: string; onChange: (v: string) => void; dags: string[] | null }) {
  const missing = dags !== null && value.trim() !== "" && !dags.includes(value.trim());
  return (
    <Field.Root>
      <Field.Label>DAG</Field.Label>
      <Input
        size="sm"
        list="webhook-dag-ids"
        value={value}
        placeholder="dag_id"
        autoComplete="off"
        onChange={(e) => onChange(e.target.value)}
      />
      <datalist id="webhook-dag-ids">
        {(dags ?? []).map((d) => (
          <option key={d} value={d} />
        ))}
      </datalist>
      {missing && <Field.HelperText>Airflow does not list a DAG {value.trim()} (yet).</Field.HelperText>}
    </Field.Root>
  );
}

const SOURCE_OPTIONS = [
  ["env", "Environment variable"],
  ["conn", "Airflow connection"],
  ["literal", "Type the secret (stored encrypted)"],
] as const;

export function Editor({
  dagId,
  webhook,
  onDone,
  onCancel,
}: {
  dagId?: string;
  webhook?: WebhookView;
  onDone: (warnings: string[]) => void;
  onCancel: () => void;
}) {
  const [form, setForm] = useState<FormState>(() => (webhook ? formFromDocument(webhook) : emptyForm(dagId ?? "")));
  const [dags, setDags] = useState<string[] | null>(null);
  const [schemes, setSchemes] = useState<SchemeInfo[]>([]);
  // the chosen scheme's record: whether it takes a tolerance, and which options
  const chosen = schemes.find((s) => s.name === form.scheme);
  const takes = new Set(chosen?.options ?? []);
  const schemeNames = schemes.map((s) => s.name);
  if (form.scheme && !schemeNames.includes(form.scheme)) schemeNames.push(form.scheme);
  const [error, setError] = useState<unknown>(null);
  const [saving, setSaving] = useState(false);
  const [sample, setSample] = useState("");
  const [formBody, setFormBody] = useState(false);
  const [parsing, setParsing] = useState(false);
  const [parseError, setParseError] = useState<unknown>(null);
  const [parseNote, setParseNote] = useState<string | null>(null);

  useEffect(() => {
    let cancelled = false;
    void listDagIds().then((ids) => {
      if (!cancelled) setDags(ids);
    });
    // the schemes are the server's sender records: none is listed here
    api.schemes().then(
      (answer) => {
        if (!cancelled) setSchemes(answer.schemes);
      },
      () => undefined,
    );
    return () => {
      cancelled = true;
    };
  }, []);

  const set = <K extends keyof FormState>(key: K, value: FormState[K]) => setForm((f) => ({ ...f, [key]: value }));
  const setRows = (part: Part, rows: FieldRow[]) => setForm((f) => ({ ...f, fields: { ...f.fields, [part]: rows } }));
  const addPaths = (part: Part, paths: string[]) =>
    setForm((f) => ({ ...f, fields: { ...f.fields, [part]: mergePaths(part, f.fields[part], paths) } }));

  const parse = async () => {
    setParsing(true);
    setParseNote(null);
    try {
      const parsed = await api.parseSample(sample, formBody);
      const before = form.fields[parsed.part].length;
      const merged = mergePaths(parsed.part, form.fields[parsed.part], parsed.paths);
      setRows(parsed.part, merged);
      setParseError(null);
      const added = merged.length - before;
      setParseNote(
        `${added} ${parsed.part} path${added === 1 ? "" : "s"} added` +
          (parsed.paths.length > added ? ` (${parsed.paths.length - added} already there)` : "") +
          ".",
      );
    } catch (exc) {
      setParseError(exc);
    } finally {
      setParsing(false);
    }
  };

  const save = async () => {
    const problem = formProblem(form);
    if (problem) {
      setError(new Error(problem));
      return;
    }
    setSaving(true);
    try {
      const doc = documentFromForm(form, webhook, chosen);
      const saved = webhook ? await api.replace(webhook.id, doc) : await api.create(doc);
      onDone(saved?.warnings ?? []);
    } catch (exc) {
      setError(exc);
      setSaving(false);
    }
  };

  const sourceOptions: (readonly [string, string])[] = [...SOURCE_OPTIONS];
  if (form.hadStoredSecret) sourceOptions.unshift(["stored", "Keep the stored secret"]);

  return (
    <Box>
      <Flex justify="space-between" align="center" mb="4" gap="4">
        <Heading as="h2" size="lg">
          {webhook ? `Edit webhook ${webhook.id}` : "New webhook"}
        </Heading>
        <Button size="sm" variant="ghost" onClick={onCancel}>
          Back
        </Button>
      </Flex>
      <Stack gap="5" maxW="4xl">
        <Section title="Webhook">
          <SimpleGrid columns={{ base: 1, md: 2 }} gap="3">
            {!webhook && (
              <TextField
                label="Webhook id"
                value={form.id}
                onChange={(v) => set("id", v)}
                helper="Optional: 8 to 64 letters, digits, '_' or '-'. Left empty, one is generated."
              />
            )}
            <DagField value={form.dagId} onChange={(v) => set("dagId", v)} dags={dags} />
            <SelectField
              label="Mode"
              value={form.mode}
              options={[
                ["async", "async: answer at once"],
                ["sync", "sync: wait for the run"],
              ]}
              onChange={(v) => set("mode", v as FormState["mode"])}
            />
            {form.mode === "sync" && (
              <TextField
                label="Sync timeout (seconds)"
                type="number"
                value={form.syncTimeout}
                onChange={(v) => set("syncTimeout", v)}
                helper="Empty: the configured default."
              />
            )}
          </SimpleGrid>
          <LabeledCheckbox label="Enabled" checked={form.enabled} onChange={(v) => set("enabled", v)} />
        </Section>

        <Section title="Authentication">
          <LabeledCheckbox label="Basic auth" checked={form.basic} onChange={(v) => set("basic", v)} />
          {form.basic && (
            <SimpleGrid columns={{ base: 1, md: 3 }} gap="3">
              <TextField label="Username" value={form.username} onChange={(v) => set("username", v)} />
              <TextField
                label="Password"
                type="password"
                value={form.password}
                onChange={(v) => set("password", v)}
                helper={webhook?.auth?.basic ? "Leave empty to keep the stored password." : "Stored hashed."}
              />
              <TextField
                label="Or environment variable"
                value={form.passwordEnv}
                onChange={(v) => set("passwordEnv", v)}
                helper="The variable holding the password: used when none is typed."
              />
            </SimpleGrid>
          )}
          <SimpleGrid columns={{ base: 1, md: 2 }} gap="3">
            <SelectField
              label="Signature scheme"
              value={form.scheme}
              options={[["", "none"], ...schemeNames.map((s) => [s, s] as const)]}
              onChange={(v) => set("scheme", v)}
            />
            {form.scheme && (
              <SelectField
                label="Secret source"
                value={form.secretSource}
                options={sourceOptions}
                onChange={(v) => set("secretSource", v as FormState["secretSource"])}
              />
            )}
            {form.scheme && form.secretSource === "env" && (
              <TextField label="Variable name" value={form.secretEnv} onChange={(v) => set("secretEnv", v)} />
            )}
            {form.scheme && form.secretSource === "conn" && (
              <TextField
                label="Connection id"
                value={form.secretConnId}
                onChange={(v) => set("secretConnId", v)}
                helper="The connection's password is the secret."
              />
            )}
            {form.scheme && form.secretSource === "literal" && (
              <TextField label="Secret value" type="password" value={form.secret} onChange={(v) => set("secret", v)} />
            )}
            {chosen?.timestamped && (
              <TextField
                label="Tolerance (seconds)"
                type="number"
                value={form.tolerance}
                onChange={(v) => set("tolerance", v)}
                helper="Empty: 300."
              />
            )}
            {takes.has("header") && (
              <TextField label="HMAC header" value={form.hmacHeader} onChange={(v) => set("hmacHeader", v)} />
            )}
            {takes.has("algorithm") && (
              <SelectField
                  label="Algorithm"
                  value={form.algorithm}
                  options={[
                    ["sha256", "sha256"],
                    ["sha512", "sha512"],
                  ]}
                  onChange={(v) => set("algorithm", v)}
                />
            )}
            {takes.has("encoding") && (
                <SelectField
                  label="Encoding"
                  value={form.encoding}
                  options={[
                    ["hex", "hex"],
                    ["base64", "base64"],
                  ]}
                  onChange={(v) => set("encoding", v)}
                />
            )}
            {takes.has("prefix") && (
              <TextField label="Prefix" value={form.prefix} onChange={(v) => set("prefix", v)} placeholder="sha256=" />
            )}
          </SimpleGrid>
        </Section>

        <Section title="Fields (the run's conf)">
          <Field.Root>
            <Field.Label>Sample</Field.Label>
            <Textarea
              size="sm"
              rows={4}
              fontFamily="mono"
              value={sample}
              placeholder={'https://example.com/hook?a=1&b[c]=2   or   {"order": {"id": 1}}'}
              onChange={(e) => setSample(e.target.value)}
            />
            <Field.HelperText>Paste a URL, a query string or a JSON body, then Parse: one row per path.</Field.HelperText>
          </Field.Root>
          <HStack gap="3">
            <LabeledCheckbox label="Form body" checked={formBody} onChange={setFormBody} />
            <Button size="sm" variant="outline" loading={parsing} disabled={!sample.trim()} onClick={() => void parse()}>
              Parse
            </Button>
            {parseNote && (
              <Text fontSize="sm" color="fg.muted" role="status">
                {parseNote}
              </Text>
            )}
          </HStack>
          <ErrorAlert error={parseError} />
          {webhook && <Listener webhook={webhook} onAdd={addPaths} />}
          <FieldRows part="headers" rows={form.fields.headers} onChange={(r) => setRows("headers", r)} />
          <FieldRows part="query" rows={form.fields.query} onChange={(r) => setRows("query", r)} />
          <FieldRows part="body" rows={form.fields.body} onChange={(r) => setRows("body", r)} />
        </Section>

        <Section title="Response">
          <SimpleGrid columns={{ base: 1, md: 2 }} gap="3">
            <TextField
              label="Status"
              type="number"
              value={form.responseStatus}
              onChange={(v) => set("responseStatus", v)}
              helper="200-299; empty: the default."
            />
            <SelectField
              label="Body type"
              value={form.responseKind}
              options={[
                ["json", "JSON"],
                ["text", "Text"],
              ]}
              onChange={(v) => set("responseKind", v as FormState["responseKind"])}
            />
          </SimpleGrid>
          <Field.Root>
            <Field.Label>Response body</Field.Label>
            <Textarea
              size="sm"
              rows={3}
              fontFamily="mono"
              value={form.responseBody}
              onChange={(e) => set("responseBody", e.target.value)}
            />
          </Field.Root>
        </Section>

        <Section title="Deliveries">
          <SimpleGrid columns={{ base: 1, md: 2 }} gap="3">
            <SelectField
              label="Deduplication"
              value={form.dedupe}
              options={[
                ["none", "none"],
                ["auto", "auto (the sender's delivery id)"],
                ["custom", "custom key"],
              ]}
              onChange={(v) => set("dedupe", v as FormState["dedupe"])}
            />
            {form.dedupe === "custom" && (
              <TextField
                label="Dedupe key"
                value={form.dedupeKey}
                onChange={(v) => set("dedupeKey", v)}
                placeholder="header:X-Delivery-Id, body:event.id or query:id"
              />
            )}
          </SimpleGrid>
          <Text fontWeight="semibold" fontSize="sm">
            Filters (every one must hold, else the request is answered without a run)
          </Text>
          <FilterRows rows={form.filters} onChange={(rows) => set("filters", rows)} />
        </Section>

        <ErrorAlert error={error} />
        <HStack gap="3">
          <Button colorPalette="blue" loading={saving} onClick={() => void save()}>
            Save
          </Button>
          <Button variant="outline" onClick={onCancel}>
            Cancel
          </Button>
        </HStack>
      </Stack>
    </Box>
  );
}
