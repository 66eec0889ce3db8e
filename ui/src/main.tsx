// The Airflow plugin: `globalThis.AirflowPlugin` (UMD default export), rendered by Airflow's UI
// with {dagId?, runId?, taskId?, mapIndex?}. In the nav: every webhook; as a DAG tab: that DAG's.
import createCache from "@emotion/cache";
import { CacheProvider } from "@emotion/react";
import { Box, ChakraProvider, createSystem, defaultConfig, type SystemContext } from "@chakra-ui/react";
import { WebhooksPage, type PluginProps } from "./App";

declare global {
  // eslint-disable-next-line no-var
  var ChakraUISystem: SystemContext | undefined;
}

let ownSystem: SystemContext | undefined;
let cache: ReturnType<typeof createCache> | undefined;

/** Airflow 3.2+ shares its Chakra system (its theme); 3.1 does not: then Chakra's default one,
 * with its own CSS variable prefix, no preflight and no `html` colours, so that the host's page
 * styles are left alone (the `*` variables the recipes read are kept). */
function system(): SystemContext {
  if (globalThis.ChakraUISystem) return globalThis.ChakraUISystem;
  ownSystem ??= createSystem(
    { ...defaultConfig, globalCss: { "*": defaultConfig.globalCss?.["*"] ?? {} } },
    { cssVarsPrefix: "awt", preflight: false },
  );
  return ownSystem;
}

export default function AirflowPlugin(props: PluginProps) {
  cache ??= createCache({ key: "awt" });
  return (
    <CacheProvider value={cache}>
      <ChakraProvider value={system()}>
        <Box p="4" color="fg" data-plugin="airflow-webhook-trigger">
          <WebhooksPage {...props} />
        </Box>
      </ChakraProvider>
    </CacheProvider>
  );
}
