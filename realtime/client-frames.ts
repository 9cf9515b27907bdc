/**
 * What a client may send (README, Realtime: WebSocket hub, Protocol), parsed
 * from a text frame. Anything else is answered with an error frame.
 */
export type ClientFrame =
  | { type: "join"; room: string }
  | { type: "leave"; room: string }
  | { type: "ack"; id: number }
  | { type: "auth"; token: string };

export type FrameError = { code: "BAD_FRAME" | "UNKNOWN_TYPE"; message: string };

export function parseClientFrame(data: string): { ok: true; frame: ClientFrame } | { ok: false; error: FrameError } {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return { ok: false, error: { code: "BAD_FRAME", message: "A frame must be a JSON object." } };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return { ok: false, error: { code: "BAD_FRAME", message: "A frame must be a JSON object." } };
  const frame = value as Record<string, unknown>;
  switch (frame.type) {
    case "join":
    case "leave":
      if (typeof frame.room !== "string" || frame.room.length > 200)
        return { ok: false, error: { code: "BAD_FRAME", message: `${frame.type} needs a room (text).` } };
      return { ok: true, frame: { type: frame.type, room: frame.room } };
    case "ack":
      if (typeof frame.id !== "number" || !Number.isSafeInteger(frame.id) || frame.id < 1)
        return { ok: false, error: { code: "BAD_FRAME", message: "ack needs the message's id (a positive integer)." } };
      return { ok: true, frame: { type: "ack", id: frame.id } };
    case "auth":
      if (typeof frame.token !== "string" || !frame.token)
        return { ok: false, error: { code: "BAD_FRAME", message: "auth needs a token." } };
      return { ok: true, frame: { type: "auth", token: frame.token } };
    default:
      return {
        ok: false,
        error: { code: "UNKNOWN_TYPE", message: "type must be one of join, leave, ack, auth." },
      };
  }
}
