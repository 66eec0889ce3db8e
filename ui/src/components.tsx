// Small shared pieces: the error alert, notices, copy button, checkbox/switch.
import { Alert, Button, Checkbox, Switch } from "./chakra";
import { useEffect, useRef, useState, type CSSProperties } from "react";
import { ApiError } from "./api";

/** The hidden input of a checkbox/switch covers its control: a real, clickable target for browser tests. */
const COVER: CSSProperties = {
  position: "absolute",
  inset: 0,
  width: "100%",
  height: "100%",
  margin: 0,
  padding: 0,
  opacity: 0,
  clip: "auto",
  clipPath: "none",
  overflow: "visible",
  whiteSpace: "normal",
  cursor: "pointer",
  zIndex: 1,
};

export const PERMISSION_MESSAGE =
  "You need Airflow's Connections permissions to manage webhooks (read to see them; create, edit and delete to change them) and, to change one, the right to trigger its DAG.";

export function ErrorAlert({ error }: { error: unknown }) {
  if (error === null || error === undefined) return null;
  const forbidden = error instanceof ApiError && error.status === 403;
  const text = error instanceof Error ? error.message : String(error);
  return (
    <Alert.Root status="error" role="alert" my="3">
      <Alert.Indicator />
      <Alert.Content>
        {forbidden && <Alert.Title>{PERMISSION_MESSAGE}</Alert.Title>}
        <Alert.Description>{forbidden ? `The API said: ${text}` : text}</Alert.Description>
      </Alert.Content>
    </Alert.Root>
  );
}

export function Notice({ status, children }: { status: "warning" | "success" | "info"; children: React.ReactNode }) {
  return (
    <Alert.Root status={status} role={status === "warning" ? "alert" : "status"} my="3">
      <Alert.Indicator />
      <Alert.Content>
        <Alert.Description>{children}</Alert.Description>
      </Alert.Content>
    </Alert.Root>
  );
}

export function Warnings({ warnings }: { warnings?: string[] | null }) {
  if (!warnings?.length) return null;
  return (
    <>
      {warnings.map((w, i) => (
        <Notice key={i} status="warning">
          {w}
        </Notice>
      ))}
    </>
  );
}

export function CopyButton({ text, label, children = "Copy" }: { text: string; label: string; children?: string }) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setState("copied");
    } catch {
      setState("failed");
    }
    clearTimeout(timer.current);
    timer.current = setTimeout(() => setState("idle"), 2000);
  };
  return (
    <Button size="xs" variant="outline" aria-label={label} onClick={() => void copy()}>
      {state === "copied" ? "Copied" : state === "failed" ? "Copy failed" : children}
    </Button>
  );
}

export function LabeledCheckbox({
  label,
  checked,
  onChange,
  disabled,
}: {
  label: string;
  checked: boolean;
  onChange: (checked: boolean) => void;
  disabled?: boolean;
}) {
  return (
    <Checkbox.Root
      position="relative"
      checked={checked}
      disabled={disabled}
      onCheckedChange={(e) => onChange(e.checked === true)}
    >
      <Checkbox.HiddenInput style={COVER} />
      <Checkbox.Control />
      <Checkbox.Label>{label}</Checkbox.Label>
    </Checkbox.Root>
  );
}

export function LabeledSwitch({
  label,
  checked,
  onChange,
  disabled,
}: {
  label: string;
  checked: boolean;
  onChange: (checked: boolean) => void;
  disabled?: boolean;
}) {
  return (
    <Switch.Root
      position="relative"
      size="sm"
      checked={checked}
      disabled={disabled}
      onCheckedChange={(e) => onChange(e.checked)}
    >
      <Switch.HiddenInput aria-label={label} style={COVER} />
      <Switch.Control>
        <Switch.Thumb />
      </Switch.Control>
    </Switch.Root>
  );
}
