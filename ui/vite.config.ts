import { defineConfig } from "vitest/config";

// One UMD file, `globalThis.AirflowPlugin` = the component; the host's React stays external.
export default defineConfig(({ command }) => ({
  // the bundle runs in a browser: no `process` left (tests keep React's development build)
  define: command === "build" ? { "process.env.NODE_ENV": JSON.stringify("production") } : {},
  oxc: {
    jsx: { runtime: "automatic", development: false },
  },
  build: {
    outDir: "../airflow_webhook_trigger/web/ui",
    emptyOutDir: false,
    sourcemap: false,
    minify: true,
    copyPublicDir: false,
    cssCodeSplit: false,
    lib: {
      entry: "src/main.tsx",
      name: "AirflowPlugin",
      formats: ["umd"],
      fileName: () => "webhooks.js",
    },
    rolldownOptions: {
      // "use client" directives of Chakra's dependencies mean nothing in a browser bundle
      onwarn(warning, warn) {
        if (warning.code === "MODULE_LEVEL_DIRECTIVE") return;
        warn(warning);
      },
      external: ["react", "react-dom", "react/jsx-runtime", "react-router-dom"],
      output: {
        exports: "default",
        globals: {
          react: "React",
          "react-dom": "ReactDOM",
          "react/jsx-runtime": "ReactJSXRuntime",
          "react-router-dom": "ReactRouterDOM",
        },
      },
    },
  },
  test: {
    environment: "jsdom",
    // Airflow under a base-url subpath: <base href> is the page's own URL here
    environmentOptions: { jsdom: { url: "http://localhost/airflow/" } },
    globals: true,
    setupFiles: ["src/test/setup.ts"],
    testTimeout: 30000,
    include: ["src/**/*.test.{ts,tsx}"],
  },
}));
