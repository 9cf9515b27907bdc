--! Previous: sha1:be7127a21301a2cebeb7d837f82e20f912b1d97e
--! Hash: sha1:8b66d82659fa6b6728d6002e0178fe9f605b3b32
--! Message: realtime outbox and its reader

-- The realtime outbox: every realtime event is one row here, written in the
-- transaction of the change that causes it (so it commits or rolls back with
-- it), and the reader the WebSocket hub catches up with.
--
-- Why a table and not NOTIFY alone: NOTIFY is not replayed to a listener that
-- was disconnected, so the hub would lose what committed during a gap. NOTIFY
-- (channel realtime, a later migration) only wakes the hub; the hub reads the
-- messages from here through app_hidden.realtime_messages_after.
--
-- Why the event is text with a CHECK and not api.websocket_event_type: that
-- enum lacks `notification`, and an added enum label can neither be used in
-- the transaction that adds it nor be dropped by a down script.

create table app_private.realtime_messages (
  id bigint generated always as identity,
  xid xid8 not null default pg_current_xact_id(),
  event text not null,
  rooms text[] not null,
  payload jsonb not null default '{}',
  priority api.notification_priority not null default 'medium',
  created_at timestamptz not null default now(),
  expires_at timestamptz not null default now() + interval '7 days',
  constraint realtime_messages_pkey primary key (id),
  constraint realtime_messages_event_valid check (
    event in ('project_update', 'payment_received', 'notification', 'admin_broadcast')),
  -- 1 to 3 rooms, each user:<uuid>, project:<uuid>, admin or all (every socket).
  constraint realtime_messages_rooms_valid check (
    cardinality(rooms) between 1 and 3 and array_position(rooms, null) is null
    and array_to_string(rooms, ',') ~ '^((user|project):[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|admin|all)(,((user|project):[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|admin|all))*$'),
  constraint realtime_messages_payload_small check (
    jsonb_typeof(payload) = 'object' and octet_length(payload::text) <= 16384),
  constraint realtime_messages_expires_at_after_created_at check (expires_at > created_at)
);
comment on table app_private.realtime_messages is
  E'The realtime outbox: one row per realtime event, written by the sources (triggers, api.admin_broadcast) in the transaction of the change, so a rolled-back change has no message and a committed one is never lost. The WebSocket hub reads it with app_hidden.realtime_messages_after (NOTIFY on channel realtime only wakes it). Not reachable by any API role; expired rows are removed by app_hidden.prune_realtime_messages.';
comment on column app_private.realtime_messages.id is E'The message''s stable id: the hub sends it to clients, which ack and de-duplicate by it. Ids are taken in insert order, not commit order: never read "id > last seen" (see realtime_messages_after).';
comment on column app_private.realtime_messages.xid is E'The writing transaction (pg_current_xact_id()): the reader compares it with snapshots to know which messages committed since its last call.';
comment on column app_private.realtime_messages.event is E'project_update, payment_received, notification or admin_broadcast. Text with a CHECK rather than api.websocket_event_type, which lacks notification (an added enum label could not be dropped by a down script).';
comment on column app_private.realtime_messages.rooms is E'Who the message is for: user:<id> (that user''s sockets), project:<id> (sockets that joined the project''s room: its owner or admins), admin (every admin), all (every socket). A socket in several of them gets the message once.';
comment on column app_private.realtime_messages.payload is E'Ids and short hints only (at most 16 kB; the hub reads the rest from the tables). An admin broadcast carries its title and message, which exist nowhere else.';
comment on column app_private.realtime_messages.priority is E'For the offline queue: replay order of messages a user missed (critical first).';
comment on column app_private.realtime_messages.expires_at is E'After this the message is neither delivered nor replayed (7 days unless the source says otherwise).';

-- The reader looks for messages of transactions at or after a snapshot's xmin.
create index realtime_messages_xid_id_idx on app_private.realtime_messages (xid, id);
create index realtime_messages_expires_at_idx on app_private.realtime_messages (expires_at);
alter table app_private.realtime_messages enable row level security;

create function app_hidden.realtime_messages_after(from_cursor jsonb, max_rows integer default 500) returns jsonb
  language plpgsql stable security definer
  set search_path to pg_catalog, pg_temp
as $$
declare
  since_snapshot pg_snapshot;
  upto_snapshot pg_snapshot;
  after_xid xid8;
  after_id bigint;
  page jsonb;
  page_size integer;
  last_message jsonb;
begin
  if max_rows is null or max_rows not between 1 and 1000 then
    perform app_hidden.raise_error('INVALID_INPUT', 'max_rows must be between 1 and 1000.', 400);
  end if;
  if from_cursor is null then
    -- A new reader starts at the present: nothing committed so far.
    return jsonb_build_object('messages', '[]'::jsonb, 'more', false,
      'cursor', jsonb_build_object('since', pg_current_snapshot()::text));
  end if;
  since_snapshot := (from_cursor ->> 'since')::pg_snapshot;
  if since_snapshot is null then
    perform app_hidden.raise_error('INVALID_INPUT', 'cursor must be one this function returned.', 400);
  end if;
  -- upto is set while a batch is read page by page: every page reads the
  -- same batch, the messages visible in upto but not in since.
  upto_snapshot := coalesce((from_cursor ->> 'upto')::pg_snapshot, pg_current_snapshot());
  after_xid := (from_cursor ->> 'after_xid')::xid8;
  after_id := (from_cursor ->> 'after_id')::bigint;

  select coalesce(jsonb_agg(jsonb_build_object(
           'id', m.id, 'xid', m.xid::text, 'event', m.event, 'rooms', to_jsonb(m.rooms), 'payload', m.payload,
           'priority', m.priority, 'created_at', m.created_at, 'expires_at', m.expires_at) order by m.xid, m.id), '[]'),
         count(*)
    into page, page_size
    from (select * from app_private.realtime_messages m
           -- Everything older than since's xmin was visible to since.
           where m.xid >= pg_snapshot_xmin(since_snapshot)
             and not pg_visible_in_snapshot(m.xid, since_snapshot)
             and pg_visible_in_snapshot(m.xid, upto_snapshot)
             and (after_xid is null or (m.xid, m.id) > (after_xid, after_id))
           order by m.xid, m.id
           limit max_rows + 1) m;

  if page_size <= max_rows then
    -- The batch is complete: the next call starts from upto.
    return jsonb_build_object('messages', page, 'more', false,
      'cursor', jsonb_build_object('since', upto_snapshot::text));
  end if;
  page := page - max_rows;
  last_message := page -> (max_rows - 1);
  return jsonb_build_object('messages', page, 'more', true,
    'cursor', jsonb_build_object('since', since_snapshot::text, 'upto', upto_snapshot::text,
                                 'after_xid', last_message ->> 'xid', 'after_id', (last_message ->> 'id')::bigint));
end;
$$;
comment on function app_hidden.realtime_messages_after(jsonb, integer) is
  E'The hub''s reader of the outbox: the messages committed since from_cursor, at most max_rows (1-1000, default 500) per call, as {messages: [{id, xid, event, rooms, payload, priority, created_at, expires_at}], cursor, more}. Pass the returned cursor to the next call (null: start now, nothing returned); while more is true, call again at once. Every committed message is returned exactly once to a reader that passes each cursor on, whatever order transactions commit in: a cursor holds a snapshot (pg_current_snapshot()), and a call returns the messages whose transaction is visible now but was not in that snapshot (ids from the sequence commit out of order, so "id > last seen" would skip a message whose transaction committed late). A long batch is read page by page against the snapshot of its first page, so a commit between pages lands in the next batch. Messages of one batch come in transaction then insert order. Expired messages are returned too (the hub drops them). SECURITY DEFINER because the outbox is in app_private; EXECUTE is granted to app_worker alone.';
revoke execute on function app_hidden.realtime_messages_after(jsonb, integer) from public;
grant execute on function app_hidden.realtime_messages_after(jsonb, integer) to app_worker;

create function app_hidden.prune_realtime_messages() returns integer
  language sql volatile security definer
  set search_path to pg_catalog, pg_temp
as $$
  with gone as (
    delete from app_private.realtime_messages m where m.expires_at < now() returning 1
  )
  select count(*)::integer from gone;
$$;
comment on function app_hidden.prune_realtime_messages() is
  E'Removes expired outbox messages (they are neither delivered nor replayed any more) and returns how many; for a scheduled worker task. SECURITY DEFINER because the outbox is in app_private; EXECUTE is granted to app_worker alone.';
revoke execute on function app_hidden.prune_realtime_messages() from public;
grant execute on function app_hidden.prune_realtime_messages() to app_worker;
