import { useState } from "react";
import type { WebhookView } from "./api";
import { Deliveries } from "./pages/Deliveries";
import { Editor } from "./pages/Editor";
import { List } from "./pages/List";

export interface PluginProps {
  dagId?: string;
  runId?: string;
  taskId?: string;
  mapIndex?: string;
}

type View = { page: "list"; warnings?: string[] } | { page: "edit"; webhook?: WebhookView } | { page: "deliveries"; webhook: WebhookView };

export function WebhooksPage({ dagId }: PluginProps) {
  const [view, setView] = useState<View>({ page: "list" });
  const list = (warnings?: string[]) => setView({ page: "list", warnings });
  if (view.page === "edit") {
    return (
      <Editor
        key={view.webhook?.id ?? "new"}
        dagId={dagId}
        webhook={view.webhook}
        onDone={(warnings) => list(warnings)}
        onCancel={() => list()}
      />
    );
  }
  if (view.page === "deliveries") return <Deliveries webhook={view.webhook} onBack={() => list()} />;
  return (
    <List
      dagId={dagId}
      warnings={view.warnings}
      onNew={() => setView({ page: "edit" })}
      onEdit={(webhook) => setView({ page: "edit", webhook })}
      onDeliveries={(webhook) => setView({ page: "deliveries", webhook })}
    />
  );
}

