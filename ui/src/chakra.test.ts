import * as Bundled from "@chakra-ui/react";
import { afterEach, describe, expect, it, vi } from "vitest";

const fakeChakra = { Button: () => null, Table: { Root: () => null } } as unknown as typeof Bundled;
const fakeSystem = { _config: {} } as unknown as Bundled.SystemContext;

async function fresh() {
  vi.resetModules();
  return import("./chakra");
}

describe("which Chakra the page renders with", () => {
  afterEach(() => {
    delete globalThis.ChakraUI;
    delete globalThis.ChakraUISystem;
  });

  it("Airflow's own, with its system, when Airflow shares both (3.2+)", async () => {
    globalThis.ChakraUI = fakeChakra;
    globalThis.ChakraUISystem = fakeSystem;
    const chakra = await fresh();
    expect(chakra.Button).toBe(fakeChakra.Button);
    expect(chakra.Table).toBe(fakeChakra.Table);
    expect(chakra.airflowSystem).toBe(fakeSystem);
  });

  it("the bundled one when Airflow shares nothing (3.1)", async () => {
    const chakra = await fresh();
    expect(chakra.Button).toBe(Bundled.Button);
    expect(chakra.airflowSystem).toBeUndefined();
  });

  it("never a mix: a system without its library is not used", async () => {
    globalThis.ChakraUISystem = fakeSystem;
    const chakra = await fresh();
    expect(chakra.Button).toBe(Bundled.Button);
    expect(chakra.airflowSystem).toBeUndefined();
  });
});
