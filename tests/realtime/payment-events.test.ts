/**
 * A payment seen live, end to end with every real part: the client orders and
 * pays through PostgREST, the worker charges at the Midtrans simulator and
 * confirms the settlement, and the client's socket on the hub receives the
 * QR notification and payment_received as they commit; the admin's socket
 * too, another client's socket nothing.
 */
import type { RealtimeHub } from "../../realtime/hub";
import { registerClient, type SignedIn } from "../helpers/auth";
import { chargedInvoice, startPaymentStack, untilInvoiceStatus, type PaymentStack } from "../helpers/payment-stack";
import { connectHub, type HubClient, type ServerFrame } from "../helpers/realtime-client";
import { simulate } from "../helpers/simulator";
import { startTestHub } from "../helpers/test-hub";

let stack: PaymentStack;
let hub: RealtimeHub;
let other: SignedIn;
const open: HubClient[] = [];

beforeAll(async () => {
  stack = await startPaymentStack();
  hub = await startTestHub(stack.db.connections.worker);
  other = await registerClient(stack.api);
});
afterAll(async () => {
  await Promise.all(open.map((c) => c.close()));
  await hub?.stop();
  await stack?.stop();
});

const connect = async (token: string) => {
  const client = await connectHub(hub.url, token);
  open.push(client);
  await client.waitFor((f) => f.type === "replayed");
  return client;
};
const events = (client: HubClient, event: string) =>
  client.frames.filter((f: ServerFrame) => f.type === "event" && f.event === event);

test("the client's socket gets the QR notification and payment_received as the worker commits them; the admin gets payment_received; another client nothing", async () => {
  const owner = await connect(stack.client.token);
  const admin = await connect(stack.admin.token);
  const stranger = await connect(other.token);

  const charged = await chargedInvoice(stack);
  const qrNotice = await owner.waitFor((f) => f.type === "event" && f.event === "notification");
  expect(qrNotice).toMatchObject({
    room: `user:${stack.client.user.id}`,
    payload: { notification_id: expect.any(String) },
  });
  const [notification] = await stack.db.query<{ user_id: string; payload: { invoice_id?: string } }>(
    "select user_id, payload from api.real_time_notifications where id = $1",
    [(qrNotice.payload as { notification_id: string }).notification_id],
  );
  expect(notification).toMatchObject({ user_id: stack.client.user.id, payload: { invoice_id: charged.id } });

  const paid = await simulate(stack.simulator, "POST", `/simulate/pay/${charged.midtrans_order_id}`);
  expect(paid.status).toBe(200);
  await untilInvoiceStatus(stack, charged.id, "paid");
  const forOwner = await owner.waitFor((f) => f.type === "event" && f.event === "payment_received");
  expect(forOwner).toMatchObject({
    room: `user:${stack.client.user.id}`,
    payload: { invoice_id: charged.id, project_id: expect.any(String) },
  });
  const forAdmin = await admin.waitFor((f) => f.type === "event" && f.event === "payment_received");
  expect(forAdmin).toMatchObject({ id: forOwner.id, room: "admin" });

  // Everything the owner was sent has come by now; the stranger's socket got none of it.
  await owner.waitFor((f) => f.type === "event" && f.event === "project_update");
  expect(events(owner, "payment_received")).toHaveLength(1);
  expect(stranger.frames.filter((f) => f.type === "event")).toEqual([]);
});
