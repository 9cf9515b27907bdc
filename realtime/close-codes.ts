/**
 * The close codes the hub sends (README, Realtime: WebSocket hub). 4000-4999
 * are the application's own; 1001 and 1009 are the standard ones.
 */
export const CLOSE_CODES = {
  /** The hub is stopping (the worker shuts down); reconnect to another instance. */
  goingAway: 1001,
  /** A frame larger than the hub accepts (ws `maxPayload`): sent by ws itself. */
  tooBig: 1009,
  /** The token expired and no fresh one came in time: reconnect with a new token. */
  tokenExpired: 4001,
  /**
   * The periodic re-check found the token signed out, the account's role changed or the
   * account deleted; an error frame with TOKEN_REVOKED, TOKEN_STALE_ROLE or TOKEN_INVALID
   * comes first, and the close reason is that code. Sign in again.
   */
  tokenInvalidated: 4003,
  /** Too many frames in too short a time from this socket. */
  flood: 4008,
  /** The socket does not read what it is sent (its send buffer kept growing). */
  tooSlow: 4009,
} as const;
