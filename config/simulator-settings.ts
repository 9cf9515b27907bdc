/**
 * Settings of the Midtrans simulator (`npm run simulator`), read from the
 * environment once and validated with zod. A wrong value stops start-up with
 * one line naming the variable (a StartupError, so no stack trace).
 * The simulator is for development and tests only; none of this reaches the
 * production image.
 */
import { z } from "zod";
import { StartupError } from "./startup-error";

/** Midtrans' notification retry intervals (after the previous attempt), in minutes: 2, 10, 30, 90, 210. */
export const MIDTRANS_RETRY_INTERVALS_MS = [2, 10, 30, 90, 210].map((minutes) => minutes * 60_000);

/** Midtrans waits up to 15 s for a notification reply. */
export const MIDTRANS_NOTIFICATION_TIMEOUT_MS = 15_000;

export type SimulatorSettings = {
  /** 0 picks any free port (tests); the URL startSimulator returns has the real one. */
  port: number;
  host: string;
  /** The server key clients authenticate with (HTTP Basic username). */
  serverKey: string;
  /** Where every notification goes unless a charge overrides it (X-Override-Notification). */
  notificationUrl: string | undefined;
  /** Factor applied to Midtrans' retry intervals: 1 is real time, 0.001 turns 2 minutes into 120 ms. */
  notificationRetryScale: number;
  /** How long one delivery attempt waits for the receiver's reply. */
  notificationTimeoutMs: number;
};

const httpUrl = z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" });

const envSchema = z.object({
  SIMULATOR_PORT: z.coerce
    .number({ error: "must be a port number (0–65535)" })
    .int({ error: "must be a port number (0–65535)" })
    .min(0, { error: "must be a port number (0–65535)" })
    .max(65535, { error: "must be a port number (0–65535)" })
    .default(3900),
  SIMULATOR_HOST: z.string().min(1).default("127.0.0.1"),
  SIMULATOR_SERVER_KEY: z
    .string()
    .regex(/^[\x21-\x7e]+$/, { error: "must be printable ASCII without spaces" })
    .max(200)
    .default("SB-Mid-server-jasaweb-simulator"),
  SIMULATOR_NOTIFICATION_URL: httpUrl.optional(),
  SIMULATOR_NOTIFICATION_RETRY_SCALE: z.coerce
    .number({ error: "must be a number from 0 to 1" })
    .min(0, { error: "must be a number from 0 to 1" })
    .max(1, { error: "must be a number from 0 to 1" })
    .default(0.001),
  SIMULATOR_NOTIFICATION_TIMEOUT_MS: z.coerce
    .number({ error: "must be a whole number of milliseconds (1–60000)" })
    .int({ error: "must be a whole number of milliseconds (1–60000)" })
    .min(1, { error: "must be a whole number of milliseconds (1–60000)" })
    .max(60_000, { error: "must be a whole number of milliseconds (1–60000)" })
    .default(MIDTRANS_NOTIFICATION_TIMEOUT_MS),
});

export function readSimulatorSettings(env: NodeJS.ProcessEnv = process.env): SimulatorSettings {
  // An empty variable counts as unset, as in config/settings.ts.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0]);
    throw new StartupError(`Invalid setting ${name}=${JSON.stringify(env[name] ?? "")}: ${issue.message}.`);
  }
  const e = parsed.data;
  return {
    port: e.SIMULATOR_PORT,
    host: e.SIMULATOR_HOST,
    serverKey: e.SIMULATOR_SERVER_KEY,
    notificationUrl: e.SIMULATOR_NOTIFICATION_URL,
    notificationRetryScale: e.SIMULATOR_NOTIFICATION_RETRY_SCALE,
    notificationTimeoutMs: e.SIMULATOR_NOTIFICATION_TIMEOUT_MS,
  };
}
