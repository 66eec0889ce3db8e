import { Badge, Box, Button, Code, Flex, Heading, HStack, Link, Spinner, Table, Text } from "../chakra";
import { useCallback, useEffect, useState } from "react";
import { api, runUrl, type Delivery, type WebhookView } from "../api";
import { ErrorAlert, Notice } from "../components";
import { relativeTime } from "../document";
import { OUTCOME_PALETTE } from "./List";

function RunLink({ dagId, runId }: { dagId: string | null; runId: string | null }) {
  if (!runId) return null;
  if (!dagId) return <Code>{runId}</Code>;
  return (
    <Link href={runUrl(dagId, runId)} color="fg.info" wordBreak="break-all">
      {runId}
    </Link>
  );
}

export function Deliveries({ webhook, onBack }: { webhook: WebhookView; onBack: () => void }) {
  const [deliveries, setDeliveries] = useState<Delivery[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [replaying, setReplaying] = useState<string | null>(null);
  const [replayed, setReplayed] = useState<Delivery | null>(null);
  const [loading, setLoading] = useState(false);

  const refresh = useCallback(async () => {
    setLoading(true);
    try {
      const data = await api.deliveries(webhook.id, 50);
      setDeliveries(data.deliveries);
      setError(null);
    } catch (exc) {
      setError(exc);
    } finally {
      setLoading(false);
    }
  }, [webhook.id]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  const replay = async (delivery: Delivery) => {
    setReplaying(delivery.id);
    try {
      const created = await api.replay(delivery.id);
      setReplayed(created);
      setError(null);
      await refresh();
    } catch (exc) {
      setError(exc);
    } finally {
      setReplaying(null);
    }
  };

  return (
    <Box>
      <Flex justify="space-between" align="center" mb="4" gap="4" wrap="wrap">
        <Heading as="h2" size="lg">
          Deliveries of {webhook.id}
        </Heading>
        <HStack>
          <Button size="sm" variant="outline" loading={loading} onClick={() => void refresh()}>
            Refresh
          </Button>
          <Button size="sm" variant="ghost" onClick={onBack}>
            Back
          </Button>
        </HStack>
      </Flex>
      <ErrorAlert error={error} />
      {replayed && (
        <Notice status="success">
          Replayed: new run <RunLink dagId={replayed.dag_id} runId={replayed.run_id} />
        </Notice>
      )}
      {deliveries === null && !error && <Spinner size="sm" aria-label="Loading" />}
      {deliveries !== null && deliveries.length === 0 && (
        <Text color="fg.muted">No deliveries recorded yet.</Text>
      )}
      {deliveries !== null && deliveries.length > 0 && (
        <Table.ScrollArea borderWidth="1px" borderColor="border" rounded="md">
          <Table.Root size="sm">
            <Table.Header>
              <Table.Row>
                <Table.ColumnHeader>Received</Table.ColumnHeader>
                <Table.ColumnHeader>Outcome</Table.ColumnHeader>
                <Table.ColumnHeader>Status</Table.ColumnHeader>
                <Table.ColumnHeader>Error</Table.ColumnHeader>
                <Table.ColumnHeader>Run</Table.ColumnHeader>
                <Table.ColumnHeader>Duration</Table.ColumnHeader>
                <Table.ColumnHeader>Actions</Table.ColumnHeader>
              </Table.Row>
            </Table.Header>
            <Table.Body>
              {deliveries.map((d) => (
                <Table.Row key={d.id} data-delivery-id={d.id}>
                  <Table.Cell title={d.received_at}>
                    {relativeTime(d.received_at)}
                    {d.replay_of && (
                      <Text as="span" color="fg.muted">
                        {" "}
                        (replay)
                      </Text>
                    )}
                  </Table.Cell>
                  <Table.Cell>
                    <Badge colorPalette={OUTCOME_PALETTE[d.outcome] ?? "gray"}>{d.outcome}</Badge>
                  </Table.Cell>
                  <Table.Cell>{d.status ?? ""}</Table.Cell>
                  <Table.Cell maxW="sm" wordBreak="break-word">
                    {d.error ?? ""}
                  </Table.Cell>
                  <Table.Cell>
                    <RunLink dagId={d.dag_id} runId={d.run_id} />
                  </Table.Cell>
                  <Table.Cell>{d.duration_ms === null ? "" : `${Math.round(d.duration_ms)} ms`}</Table.Cell>
                  <Table.Cell>
                    {d.outcome === "accepted" && d.run_id && (
                      <Button
                        size="xs"
                        variant="outline"
                        loading={replaying === d.id}
                        disabled={replaying !== null}
                        onClick={() => void replay(d)}
                      >
                        Replay
                      </Button>
                    )}
                  </Table.Cell>
                </Table.Row>
              ))}
            </Table.Body>
          </Table.Root>
        </Table.ScrollArea>
      )}
    </Box>
  );
}
