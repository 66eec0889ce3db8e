import { Badge, Box, Button, Code, Dialog, Flex, Heading, HStack, Portal, Spinner, Table, Text } from "../chakra";
import { useCallback, useEffect, useState } from "react";
import { api, type WebhookView } from "../api";
import { CopyButton, ErrorAlert, LabeledSwitch, Warnings } from "../components";
import { authKind, relativeTime } from "../document";

export const OUTCOME_PALETTE: Record<string, string> = {
  accepted: "green",
  duplicate: "gray",
  filtered: "blue",
  rejected: "red",
  handshake: "purple",
};

export function List({
  dagId,
  warnings,
  onNew,
  onEdit,
  onDeliveries,
}: {
  dagId?: string;
  warnings?: string[];
  onNew: () => void;
  onEdit: (webhook: WebhookView) => void;
  onDeliveries: (webhook: WebhookView) => void;
}) {
  const [webhooks, setWebhooks] = useState<WebhookView[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [toDelete, setToDelete] = useState<string | null>(null);
  const [deleting, setDeleting] = useState(false);

  const refresh = useCallback(async () => {
    try {
      const data = await api.list(dagId);
      const sorted = [...data.webhooks].sort(
        (a, b) => a.dag_id.localeCompare(b.dag_id) || a.id.localeCompare(b.id),
      );
      setWebhooks(sorted);
      setError(null);
    } catch (exc) {
      setError(exc);
    }
  }, [dagId]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  const setEnabled = async (webhook: WebhookView, enabled: boolean) => {
    setBusy(webhook.id);
    try {
      const updated = await api.patch(webhook.id, { enabled });
      setWebhooks((list) =>
        list?.map((w) => (w.id === webhook.id ? { ...w, ...updated, last_delivery: w.last_delivery } : w)) ?? null,
      );
      setError(null);
    } catch (exc) {
      setError(exc);
    } finally {
      setBusy(null);
    }
  };

  const confirmDelete = async () => {
    if (!toDelete) return;
    setDeleting(true);
    try {
      await api.remove(toDelete);
      setError(null);
      setToDelete(null);
      await refresh();
    } catch (exc) {
      setError(exc);
      setToDelete(null);
    } finally {
      setDeleting(false);
    }
  };

  return (
    <Box>
      <Flex justify="space-between" align="center" mb="4" gap="4">
        <Heading as="h2" size="lg">
          Webhooks
        </Heading>
        <Button size="sm" colorPalette="blue" onClick={onNew}>
          New webhook
        </Button>
      </Flex>
      <Warnings warnings={warnings} />
      <ErrorAlert error={error} />
      {webhooks === null && !error && <Spinner size="sm" aria-label="Loading" />}
      {webhooks !== null && webhooks.length === 0 && (
        <Text color="fg.muted">No webhooks yet{dagId ? ` for ${dagId}` : ""}. Create one with "New webhook".</Text>
      )}
      {webhooks !== null && webhooks.length > 0 && (
        <Table.ScrollArea borderWidth="1px" borderColor="border" rounded="md">
          <Table.Root size="sm">
            <Table.Header>
              <Table.Row>
                <Table.ColumnHeader>Id</Table.ColumnHeader>
                {!dagId && <Table.ColumnHeader>DAG</Table.ColumnHeader>}
                <Table.ColumnHeader>Mode</Table.ColumnHeader>
                <Table.ColumnHeader>Enabled</Table.ColumnHeader>
                <Table.ColumnHeader>Auth</Table.ColumnHeader>
                <Table.ColumnHeader>Last delivery</Table.ColumnHeader>
                <Table.ColumnHeader>URL</Table.ColumnHeader>
                <Table.ColumnHeader>Actions</Table.ColumnHeader>
              </Table.Row>
            </Table.Header>
            <Table.Body>
              {webhooks.map((w) => (
                <Table.Row key={w.id} data-webhook-id={w.id}>
                  <Table.Cell>
                    <Code>{w.id}</Code>
                  </Table.Cell>
                  {!dagId && <Table.Cell>{w.dag_id}</Table.Cell>}
                  <Table.Cell>{w.mode}</Table.Cell>
                  <Table.Cell>
                    <LabeledSwitch
                      label={`Enabled ${w.id}`}
                      checked={w.enabled}
                      disabled={busy === w.id}
                      onChange={(enabled) => void setEnabled(w, enabled)}
                    />
                  </Table.Cell>
                  <Table.Cell>{authKind(w)}</Table.Cell>
                  <Table.Cell>
                    {w.last_delivery ? (
                      <HStack gap="2">
                        <Text as="span" title={w.last_delivery.received_at}>
                          {relativeTime(w.last_delivery.received_at)}
                        </Text>
                        <Badge colorPalette={OUTCOME_PALETTE[w.last_delivery.outcome] ?? "gray"}>
                          {w.last_delivery.outcome}
                        </Badge>
                      </HStack>
                    ) : (
                      <Text as="span" color="fg.muted">
                        never
                      </Text>
                    )}
                  </Table.Cell>
                  <Table.Cell>
                    <HStack gap="2">
                      <Code whiteSpace="normal" wordBreak="break-all">
                        {w.url}
                      </Code>
                      <CopyButton text={w.url} label={`Copy URL of ${w.id}`} />
                    </HStack>
                  </Table.Cell>
                  <Table.Cell>
                    <HStack gap="1">
                      <Button size="xs" variant="outline" aria-label={`Edit ${w.id}`} onClick={() => onEdit(w)}>
                        Edit
                      </Button>
                      <Button
                        size="xs"
                        variant="outline"
                        aria-label={`Deliveries of ${w.id}`}
                        onClick={() => onDeliveries(w)}
                      >
                        Deliveries
                      </Button>
                      <Button
                        size="xs"
                        variant="outline"
                        colorPalette="red"
                        aria-label={`Delete ${w.id}`}
                        onClick={() => setToDelete(w.id)}
                      >
                        Delete
                      </Button>
                    </HStack>
                  </Table.Cell>
                </Table.Row>
              ))}
            </Table.Body>
          </Table.Root>
        </Table.ScrollArea>
      )}
      <Dialog.Root
        role="alertdialog"
        open={toDelete !== null}
        onOpenChange={(e) => {
          if (!e.open) setToDelete(null);
        }}
      >
        <Portal>
          <Dialog.Backdrop />
          <Dialog.Positioner>
            <Dialog.Content>
              <Dialog.Header>
                <Dialog.Title>Delete webhook {toDelete}?</Dialog.Title>
              </Dialog.Header>
              <Dialog.Body>
                <Text>
                  Webhook <Code>{toDelete}</Code> will be deleted: its URL stops working at once. This cannot be undone.
                </Text>
              </Dialog.Body>
              <Dialog.Footer>
                <Button variant="outline" onClick={() => setToDelete(null)}>
                  Cancel
                </Button>
                <Button colorPalette="red" loading={deleting} onClick={() => void confirmDelete()}>
                  Delete
                </Button>
              </Dialog.Footer>
            </Dialog.Content>
          </Dialog.Positioner>
        </Portal>
      </Dialog.Root>
    </Box>
  );
}
