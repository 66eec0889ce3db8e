// "Listen for a test request": the test URL, a curl example, and polling for a new capture.
import { Box, Button, Code, Flex, HStack, Text } from "../chakra";
import { useEffect, useRef, useState } from "react";
import { api, type Capture, type WebhookView } from "../api";
import { CopyButton, ErrorAlert } from "../components";
import { PARTS, type Part } from "../document";

export const POLL_MS = 2000;
const EPOCH = "1970-01-01T00:00:00+00:00";

const PART_LABEL: Record<Part, string> = { headers: "Headers", query: "Query", body: "Body" };

export function testUrlOf(webhook: WebhookView): string {
  return webhook.test_url ?? webhook.url.replace(/\/trigger\/([^/]+)$/, "/test/$1");
}

function curlExample(webhook: WebhookView, url: string): string {
  const lines = [`curl -X POST '${url}?example=1'`, `  -H 'Content-Type: application/json'`];
  if (webhook.auth?.basic) lines.push(`  -u '${webhook.auth.basic.username}:PASSWORD'`);
  lines.push(`  -d '{"event": "test", "data": {"id": 42}}'`);
  return lines.join(" \\\n");
}

export function Listener({
  webhook,
  onAdd,
}: {
  webhook: WebhookView;
  onAdd: (part: Part, paths: string[]) => void;
}) {
  const [listening, setListening] = useState(false);
  const [capture, setCapture] = useState<Capture | null>(null);
  const [error, setError] = useState<unknown>(null);
  // the newest capture seen (server time): listening shows only newer ones
  const seen = useRef<Promise<string> | null>(null);
  const url = testUrlOf(webhook);

  useEffect(() => {
    // the capture there already, read when the editor opens (before any click: no race with a
    // request sent right after "Listen"); `since` = the epoch answers it, or 204 when none
    seen.current = api
      .sampleSince(webhook.id, EPOCH)
      .then((found) => found?.captured_at ?? EPOCH)
      .catch(() => EPOCH);
  }, [webhook.id]);

  useEffect(() => {
    if (!listening) return;
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const since = await (seen.current ?? Promise.resolve(EPOCH));
        if (cancelled) return;
        const found = await api.sampleSince(webhook.id, since);
        if (cancelled) return;
        if (found) {
          seen.current = Promise.resolve(found.captured_at);
          setCapture(found);
        }
      } catch (exc) {
        if (cancelled) return;
        setError(exc);
        setListening(false);
        return;
      }
      timer = setTimeout(() => void poll(), POLL_MS);
    };
    void poll();
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [listening, webhook.id]);

  const start = () => {
    setCapture(null);
    setError(null);
    setListening(true);
  };

  return (
    <Box borderWidth="1px" borderColor="border" rounded="md" p="3" mt="3">
      <HStack gap="2" wrap="wrap">
        {listening ? (
          <Button size="sm" variant="outline" onClick={() => setListening(false)}>
            Stop
          </Button>
        ) : (
          <Button size="sm" variant="outline" onClick={start}>
            Listen for a test request
          </Button>
        )}
        {listening && (
          <Text color="fg.muted" fontSize="sm" role="status">
            Waiting for a request to the test URL…
          </Text>
        )}
      </HStack>
      {(listening || capture) && (
        <Box mt="3">
          <Text fontSize="sm">
            Send a request to the test URL, with this webhook's own authentication (it starts no run):
          </Text>
          <HStack gap="2" mt="1">
            <Code wordBreak="break-all">{url}</Code>
            <CopyButton text={url} label="Copy test URL" />
          </HStack>
          <Box as="pre" mt="2" p="2" bg="bg.muted" rounded="sm" fontSize="xs" overflowX="auto">
            <code>{curlExample(webhook, url)}</code>
          </Box>
        </Box>
      )}
      <ErrorAlert error={error} />
      {capture && (
        <Box mt="3" aria-label="Captured test request" role="region">
          <Text fontSize="sm" fontWeight="semibold">
            Captured at {new Date(capture.captured_at).toLocaleString()}
          </Text>
          {(capture.dropped_headers ?? []).length > 0 && (
            <Text fontSize="xs" color="fg.muted" mt="1">
              Not kept, may carry a credential: {(capture.dropped_headers ?? []).join(", ")}
            </Text>
          )}
          {PARTS.map((part) => {
            const paths = capture.paths[part] ?? [];
            return (
              <Box key={part} mt="2">
                <Flex align="center" gap="2">
                  <Text fontSize="sm">
                    {PART_LABEL[part]} ({paths.length})
                  </Text>
                  {paths.length > 0 && (
                    <Button size="xs" variant="outline" onClick={() => onAdd(part, paths)}>
                      Add all {PART_LABEL[part].toLowerCase()}
                    </Button>
                  )}
                </Flex>
                <HStack gap="1" wrap="wrap" mt="1">
                  {paths.map((path) => (
                    <Button
                      key={path}
                      size="2xs"
                      variant="subtle"
                      aria-label={`Add ${part} ${path}`}
                      onClick={() => onAdd(part, [path])}
                    >
                      {path}
                    </Button>
                  ))}
                </HStack>
              </Box>
            );
          })}
        </Box>
      )}
    </Box>
  );
}
