/**
 * The QRIS payload of a transaction (`qr_string`) and its PNG
 * (`GET /v2/qris/{transaction_id}/qr-code`).
 *
 * The payload is built the way a real dynamic QRIS is (EMVCo merchant-
 * presented TLV fields with a CRC16 in tag 63), so that a client that
 * renders or parses `qr_string` sees the same structure as in production.
 * Its merchant data is made up; no real wallet can pay it.
 */
import QRCode from "qrcode";
import type { Acquirer } from "./transactions";

const tlv = (id: string, value: string): string => id + String(value.length).padStart(2, "0") + value;

/** CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF), as EMVCo QR payloads use for tag 63. */
function crc16(text: string): string {
  let crc = 0xffff;
  for (const byte of Buffer.from(text, "utf8")) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc.toString(16).toUpperCase().padStart(4, "0");
}

export function qrisPayload(input: {
  transactionId: string;
  merchantId: string;
  grossAmount: number;
  acquirer: Acquirer;
}): string {
  const globalId = input.acquirer === "gopay" ? "COM.GO-JEK.WWW" : "ID.CO.SHOPEE.WWW";
  const body =
    tlv("00", "01") + // payload format indicator
    tlv("01", "12") + // point of initiation: dynamic (one payment)
    tlv("26", tlv("00", globalId) + tlv("01", "936009140000000000") + tlv("02", input.merchantId) + tlv("03", "UMI")) +
    tlv("51", tlv("00", "ID.CO.QRIS.WWW") + tlv("02", "ID1020000000001") + tlv("03", "UMI")) +
    tlv("52", "7372") + // merchant category: computer programming services
    tlv("53", "360") + // IDR
    tlv("54", String(input.grossAmount)) +
    tlv("58", "ID") +
    tlv("59", "JASAWEB SIMULATOR") +
    tlv("60", "JAKARTA") +
    tlv("61", "12190") +
    tlv("62", tlv("05", input.transactionId.replace(/-/g, "").slice(0, 25))) +
    "6304";
  return body + crc16(body);
}

/** A borderless PNG of the payload [D-QRIS] (a small quiet zone kept so that scanners read it). */
export function qrPng(qrString: string): Promise<Buffer> {
  return QRCode.toBuffer(qrString, { type: "png", errorCorrectionLevel: "M", margin: 2, scale: 6 });
}
