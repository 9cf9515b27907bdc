/**
 * The realtime benchmark's same-run baseline: PostgreSQL's own LISTEN/NOTIFY
 * round trip, which every hub delivery starts with. One pg client LISTENs;
 * another commits, one at a time, the same transaction as the "own events"
 * scenario's (one api.real_time_notifications row, whose trigger writes the
 * outbox and NOTIFYs `realtime`), for a user without a socket, plus a NOTIFY
 * on the baseline's channel carrying a sequence number, which the listener
 * hears at the same commit. Each arrival is timed from the moment the COMMIT
 * was sent and from the moment it returned, exactly as the hub's
 * deliveries are: the hub's latency minus this is what the hub adds.
 */
import { Client } from "pg";
import { latencyStats, type LatencyStats } from "./latency-stats";

export type ListenNotifyBaseline = {
  samples: number;
  /** COMMIT returned → notification arrived, ms (may be ≤ 0: the listener can hear before the committer). */
  fromCommitReturned: LatencyStats;
  /** COMMIT sent → notification arrived, ms. */
  fromCommitSent: LatencyStats;
  /** Notifications that did not arrive within 5 s. */
  lost: number;
};

const CHANNEL = "realtime_bench_baseline";

export async function measureListenNotify(
  connectionString: string,
  userId: string,
  samples: number,
): Promise<ListenNotifyBaseline> {
  const listener = new Client({ connectionString });
  const notifier = new Client({ connectionString });
  await listener.connect();
  try {
    await notifier.connect();
    try {
      const arrived = new Map<string, number>();
      let wake: (() => void) | undefined;
      listener.on("notification", (n) => {
        if (n.channel !== CHANNEL || !n.payload) return;
        arrived.set(n.payload, performance.now());
        wake?.();
      });
      const arrival = (payload: string, ms: number) =>
        new Promise<number | undefined>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            wake = undefined;
            resolve(arrived.get(payload));
          };
          const timer = setTimeout(done, ms);
          wake = () => {
            if (arrived.has(payload)) done();
          };
          wake();
        });
      await listener.query(`listen ${CHANNEL}`);
      const fromReturned: number[] = [];
      const fromSent: number[] = [];
      let lost = 0;
      // A few unrecorded rounds first: connections and plans warm up.
      for (let i = -10; i < samples; i++) {
        const payload = String(i);
        await notifier.query("begin");
        await notifier.query(
          `insert into api.real_time_notifications (user_id, type, title, message)
           values ($1, 'system_announcement', 'Bench', 'Pesan uji')`,
          [userId],
        );
        await notifier.query("select pg_notify($1, $2)", [CHANNEL, payload]);
        const sent = performance.now();
        await notifier.query("commit");
        const returned = performance.now();
        const at = await arrival(payload, 5_000);
        if (i < 0) continue;
        if (at === undefined) {
          lost += 1;
          continue;
        }
        fromReturned.push(at - returned);
        fromSent.push(at - sent);
        // Unloaded: one round trip at a time, with a pause between them.
        await new Promise((r) => setTimeout(r, 2));
      }
      return {
        samples,
        fromCommitReturned: latencyStats(fromReturned),
        fromCommitSent: latencyStats(fromSent),
        lost,
      };
    } finally {
      await notifier.end();
    }
  } finally {
    await listener.end();
  }
}
