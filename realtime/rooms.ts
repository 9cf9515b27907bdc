/**
 * Which sockets are in which room. `all` is not stored: it is every socket.
 */
export class RoomIndex<S> {
  private readonly members = new Map<string, Set<S>>();
  private readonly everyone = new Set<S>();

  add(socket: S): void {
    this.everyone.add(socket);
  }

  join(socket: S, room: string): void {
    let set = this.members.get(room);
    if (!set) this.members.set(room, (set = new Set()));
    set.add(socket);
  }

  leave(socket: S, room: string): void {
    const set = this.members.get(room);
    if (!set) return;
    set.delete(socket);
    if (!set.size) this.members.delete(room);
  }

  remove(socket: S, rooms: Iterable<string>): void {
    this.everyone.delete(socket);
    for (const room of rooms) this.leave(socket, room);
  }

  /** Every socket in at least one of `rooms`, each once. */
  socketsOf(rooms: readonly string[]): Set<S> {
    if (rooms.includes("all")) return new Set(this.everyone);
    const found = new Set<S>();
    for (const room of rooms) for (const socket of this.members.get(room) ?? []) found.add(socket);
    return found;
  }

  get size(): number {
    return this.everyone.size;
  }
}
