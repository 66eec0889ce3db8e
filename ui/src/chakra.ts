// Which Chakra UI the page renders with. Airflow 3.2+ shares its own (globalThis.ChakraUI, with
// its system: its theme, its light and dark mode) and the page then uses it, so there is one
// Chakra on the page and the page looks like Airflow. Its version is Airflow's, not ours: 3.2's
// system lacks methods that our bundled Chakra 3.38 calls, so the two must never be mixed.
// Airflow 3.1 shares none: the bundled copy, with a system of its own (main.tsx).
import * as Bundled from "@chakra-ui/react";
import type { SystemContext } from "@chakra-ui/react";

type Chakra = typeof Bundled;

declare global {
  // eslint-disable-next-line no-var
  var ChakraUI: Chakra | undefined;
  // eslint-disable-next-line no-var
  var ChakraUISystem: SystemContext | undefined;
}

const hostChakra = globalThis.ChakraUI;
const hostSystem = globalThis.ChakraUISystem;
const host: Chakra | undefined = hostChakra !== undefined && hostSystem !== undefined ? hostChakra : undefined;

/** Airflow's own system when the page renders with Airflow's Chakra, else undefined. */
export const airflowSystem: SystemContext | undefined = host === undefined ? undefined : hostSystem;

// one name at a time, each `Bundled.X` a static access: the bundle keeps only what is used
export const Alert = host ? host.Alert : Bundled.Alert;
export const Badge = host ? host.Badge : Bundled.Badge;
export const Box = host ? host.Box : Bundled.Box;
export const Button = host ? host.Button : Bundled.Button;
export const ChakraProvider = host ? host.ChakraProvider : Bundled.ChakraProvider;
export const Checkbox = host ? host.Checkbox : Bundled.Checkbox;
export const Code = host ? host.Code : Bundled.Code;
export const Dialog = host ? host.Dialog : Bundled.Dialog;
export const Field = host ? host.Field : Bundled.Field;
export const Fieldset = host ? host.Fieldset : Bundled.Fieldset;
export const Flex = host ? host.Flex : Bundled.Flex;
export const HStack = host ? host.HStack : Bundled.HStack;
export const Heading = host ? host.Heading : Bundled.Heading;
export const Input = host ? host.Input : Bundled.Input;
export const Link = host ? host.Link : Bundled.Link;
export const NativeSelect = host ? host.NativeSelect : Bundled.NativeSelect;
export const Portal = host ? host.Portal : Bundled.Portal;
export const SimpleGrid = host ? host.SimpleGrid : Bundled.SimpleGrid;
export const Spinner = host ? host.Spinner : Bundled.Spinner;
export const Stack = host ? host.Stack : Bundled.Stack;
export const Switch = host ? host.Switch : Bundled.Switch;
export const Table = host ? host.Table : Bundled.Table;
export const Text = host ? host.Text : Bundled.Text;
export const Textarea = host ? host.Textarea : Bundled.Textarea;
