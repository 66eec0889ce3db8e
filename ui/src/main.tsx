// The Airflow plugin: `globalThis.AirflowPlugin` (UMD default export), rendered by Airflow's UI
// with {dagId?, runId?, taskId?, mapIndex?}. In the nav: every webhook; as a DAG tab: that DAG's.
import createCache from "@emotion/cache";
import { CacheProvider } from "@emotion/react";
import { createSystem, defaultConfig, type SystemContext } from "@chakra-ui/react";
import { WebhooksPage, type PluginProps } from "./App";
import { airflowSystem, Box, ChakraProvider } from "./chakra";

let ownSystem: SystemContext | undefined;
let cache: ReturnType<typeof createCache> | undefined;

/** Airflow 3.2+ shares its Chakra and its system (its theme: see chakra.ts); 3.1 does not: then
 * the bundled Chakra's default system, with its own CSS variable prefix, no preflight and no
 * `html` colours, so that the host's page styles are left alone (the `*` variables the recipes
 * read are kept). */
function system(): SystemContext {
  if (airflowSystem !== undefined) return airflowSystem;
  ownSystem ??= createSystem(
    { ...defaultConfig, globalCss: { "*": defaultConfig.globalCss?.["*"] ?? {} } },
    { cssVarsPrefix: "awt", preflight: false },
  );
  return ownSystem;
}

export default function AirflowPlugin(props: PluginProps) {
  const page = (
    <ChakraProvider value={system()}>
      {/* the own system sets no `html` styles: its default palette is set here instead */}
      <Box p="4" color="fg" colorPalette={airflowSystem ? undefined : "gray"} data-plugin="airflow-webhook-trigger">
        <WebhooksPage {...props} />
      </Box>
    </ChakraProvider>
  );
  if (airflowSystem !== undefined) return page; // Airflow's Chakra styles with Airflow's emotion
  cache ??= createCache({ key: "awt" });
  return <CacheProvider value={cache}>{page}</CacheProvider>;
}
