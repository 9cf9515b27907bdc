/**
 * GET /v2/qris/{transaction_id}/qr-code (the charge's generate-qr-code
 * action): a PNG that decodes back to the transaction's qr_string.
 */
import jsQR from "jsqr";
import { PNG } from "pngjs";
import type { RunningSimulator } from "../../simulator";
import { coreApiFor } from "../helpers/midtrans-client";
import { orderId, qrisCharge, startTestSimulator, TEST_SERVER_KEY } from "../helpers/simulator";

let simulator: RunningSimulator;
beforeAll(async () => {
  simulator = await startTestSimulator();
});
afterAll(() => simulator.stop());

/** EMVCo CRC-16/CCITT-FALSE over the payload up to and including "6304", computed here independently. */
function crc16(text: string): string {
  let crc = 0xffff;
  for (const byte of Buffer.from(text)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc.toString(16).toUpperCase().padStart(4, "0");
}

test("the generate-qr-code action serves a PNG of qr_string (no server key needed, like an <img> would fetch it)", async () => {
  const core = coreApiFor(simulator.url, { serverKey: TEST_SERVER_KEY });
  const charged = await core.charge(qrisCharge(orderId("qr"), 275000));
  const action = (charged.actions as { name: string; method: string; url: string }[]).find(
    (a) => a.name === "generate-qr-code",
  )!;
  const response = await fetch(action.url);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toBe("image/png");
  const png = Buffer.from(await response.arrayBuffer());
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));

  const image = PNG.sync.read(png);
  expect(image.width).toBeGreaterThanOrEqual(100);
  const decoded = jsQR(new Uint8ClampedArray(image.data), image.width, image.height);
  expect(decoded?.data).toBe(charged.qr_string);
});

test("qr_string is a dynamic QRIS payload for the amount, with a valid CRC", async () => {
  const core = coreApiFor(simulator.url, { serverKey: TEST_SERVER_KEY });
  const { qr_string } = await core.charge(qrisCharge(orderId("qr"), 123456));
  const payload = String(qr_string);
  expect(payload.startsWith("000201" + "010212")).toBe(true);
  expect(payload).toContain("5303360"); // IDR
  expect(payload).toContain("5406123456"); // the amount
  expect(payload.slice(-4)).toBe(crc16(payload.slice(0, -4)));
});

test("an unknown transaction id answers the 404 body", async () => {
  const response = await fetch(`${simulator.url}/v2/qris/00000000-0000-0000-0000-000000000000/qr-code`);
  expect(await response.json()).toMatchObject({ status_code: "404" });
});
