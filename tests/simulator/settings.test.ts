/** The simulator's settings (config/simulator-settings.ts): defaults, and each bad value named. */
import { readSimulatorSettings } from "../../config/simulator-settings";
import { StartupError } from "../../config/startup-error";

test("defaults: port 3900 on 127.0.0.1, a sandbox-looking key, no notification URL, retries × 0.001, 15 s timeout", () => {
  expect(readSimulatorSettings({})).toEqual({
    port: 3900,
    host: "127.0.0.1",
    serverKey: "SB-Mid-server-jasaweb-simulator",
    notificationUrl: undefined,
    notificationRetryScale: 0.001,
    notificationTimeoutMs: 15_000,
  });
});

test("values from the environment; an empty variable counts as unset", () => {
  expect(
    readSimulatorSettings({
      SIMULATOR_PORT: "0",
      SIMULATOR_HOST: "0.0.0.0",
      SIMULATOR_SERVER_KEY: "SB-Mid-server-other",
      SIMULATOR_NOTIFICATION_URL: "https://example.test/hook",
      SIMULATOR_NOTIFICATION_RETRY_SCALE: "1",
      SIMULATOR_NOTIFICATION_TIMEOUT_MS: "",
    }),
  ).toEqual({
    port: 0,
    host: "0.0.0.0",
    serverKey: "SB-Mid-server-other",
    notificationUrl: "https://example.test/hook",
    notificationRetryScale: 1,
    notificationTimeoutMs: 15_000,
  });
});

test.each([
  ["SIMULATOR_PORT", "70000"],
  ["SIMULATOR_PORT", "3.5"],
  ["SIMULATOR_SERVER_KEY", "has space"],
  ["SIMULATOR_NOTIFICATION_URL", "ftp://example.test/"],
  ["SIMULATOR_NOTIFICATION_RETRY_SCALE", "-1"],
  ["SIMULATOR_NOTIFICATION_TIMEOUT_MS", "0"],
])("%s=%s is refused with a StartupError naming it", (name, value) => {
  expect(() => readSimulatorSettings({ [name]: value })).toThrow(StartupError);
  expect(() => readSimulatorSettings({ [name]: value })).toThrow(`Invalid setting ${name}=${JSON.stringify(value)}: `);
});
