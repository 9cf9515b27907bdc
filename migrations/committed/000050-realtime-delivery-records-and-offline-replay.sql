--! Previous: sha1:4461a6119af095d0182305fc885822fdf7d9d2d6
--! Hash: sha1:c432ebf4b0dca1542f922609721e57945533b2f5
--! Message: realtime delivery records and offline replay

-- Work in progress for the next migration (graphile-migrate `watch` applies it
-- on save; `npm run gm -- commit --message "..."` commits it). Write its down
-- script in migrations/down/ under the committed file's name.

-- Realtime delivery: a record per message sent to a socket (api.websocket_events,
-- now carrying the outbox message id and any event the outbox knows, notification
-- included) and each user's delivery state of every message addressed to them
-- (app_private.realtime_deliveries), from which a reconnecting socket is replayed
-- what its user has not acked.

-- event_type becomes text with a CHECK: the enum lacks notification, and an added
-- enum label could not be dropped by the down script.
alter table api.websocket_events alter column event_type type text using event_type::text;
alter table api.websocket_events add constraint websocket_events_event_type_valid check (
  event_type in ('project_update', 'payment_received', 'notification', 'admin_broadcast',
                 'system_alert', 'connection_status', 'heartbeat'));
comment on column api.websocket_events.event_type is
  E'project_update, payment_received, notification, admin_broadcast (the outbox''s events), system_alert, connection_status or heartbeat. Text with a CHECK: api.websocket_event_type lacks notification.';
alter table api.websocket_events add column message_id bigint;
comment on column api.websocket_events.message_id is
  E'The outbox message sent (app_private.realtime_messages.id, the id clients ack); null for events that are not outbox messages. No foreign key: the outbox is pruned on its own schedule.';
create index websocket_events_connection_id_message_id_idx on api.websocket_events (connection_id, message_id)
  where message_id is not null;

create table app_private.realtime_deliveries (
  user_id uuid not null,
  message_id bigint not null,
  attempts integer not null default 0,
  max_attempts integer not null default 5,
  delivered_at timestamptz,
  last_attempt_at timestamptz,
  constraint realtime_deliveries_pkey primary key (user_id, message_id),
  constraint realtime_deliveries_user_id_fkey foreign key (user_id) references api.users (id) on delete cascade,
  constraint realtime_deliveries_message_id_fkey foreign key (message_id)
    references app_private.realtime_messages (id) on delete cascade,
  constraint realtime_deliveries_attempts_valid check (attempts >= 0 and max_attempts > 0 and attempts <= max_attempts)
);
comment on table app_private.realtime_deliveries is
  E'The offline queue, per user: for each outbox message addressed to the user (user:<id>, admin for admins, all) that was replayed or acked, how many replays it took and when a socket of the user acked it. A message without a row has never been replayed nor acked. The hub replays, on every connect, the user''s messages that are not expired, not acked (delivered_at null) and below max_attempts, critical first then oldest, counting one attempt each (app_hidden.realtime_replay). Rows go with their message when the outbox is pruned.';
comment on column app_private.realtime_deliveries.attempts is E'Replays so far; at max_attempts the message is not replayed any more.';
comment on column app_private.realtime_deliveries.delivered_at is E'When a socket of the user first acked the message (any hub instance); acked messages are never replayed.';
create index realtime_deliveries_message_id_idx on app_private.realtime_deliveries (message_id);
alter table app_private.realtime_deliveries enable row level security;

-- Replay candidates are found by room.
create index realtime_messages_rooms_idx on app_private.realtime_messages using gin (rooms);

create function app_hidden.realtime_record_deliveries(sent jsonb, acks jsonb) returns void
  language plpgsql volatile security definer
  set search_path to pg_catalog, pg_temp
as $$
begin
  insert into api.websocket_events (connection_id, event_type, message_id, room_id, payload)
  select s.connection_id, m.event, m.id, s.room, m.payload
    from jsonb_to_recordset(coalesce(sent, '[]')) as s(connection_id text, message_id bigint, room text)
    join app_private.realtime_messages m on m.id = s.message_id
    join api.websocket_connections c on c.connection_id = s.connection_id;

  update api.websocket_events e
     set is_delivered = true, delivered_at = now()
    from jsonb_to_recordset(coalesce(acks, '[]')) as a(connection_id text, user_id uuid, message_id bigint)
   where e.connection_id = a.connection_id and e.message_id = a.message_id and not e.is_delivered;

  insert into app_private.realtime_deliveries as d (user_id, message_id, delivered_at)
  select distinct on (a.user_id, a.message_id) a.user_id, a.message_id, now()
    from jsonb_to_recordset(coalesce(acks, '[]')) as a(connection_id text, user_id uuid, message_id bigint)
    join app_private.realtime_messages m on m.id = a.message_id
    join api.users u on u.id = a.user_id
   -- Only a message addressed to the user counts as acked by them.
   where m.rooms && (array['user:' || a.user_id, 'all'] || case when u.role = 'admin' then array['admin'] else '{}' end)
  on conflict (user_id, message_id) do update set delivered_at = coalesce(d.delivered_at, excluded.delivered_at);
end;
$$;
comment on function app_hidden.realtime_record_deliveries(jsonb, jsonb) is
  E'The hub''s batched delivery bookkeeping: sent is [{connection_id, message_id, room}] (one api.websocket_events row each, taking event and payload from the outbox; unknown messages or connections are skipped), acks is [{connection_id, user_id, message_id}] (the socket''s event rows become delivered, and the user''s app_private.realtime_deliveries row records the ack, so the message is not replayed to any socket of that user again; acks of messages not addressed to the user are ignored). SECURITY DEFINER because the outbox and the delivery state are in app_private; EXECUTE is granted to app_worker alone.';
revoke execute on function app_hidden.realtime_record_deliveries(jsonb, jsonb) from public;
grant execute on function app_hidden.realtime_record_deliveries(jsonb, jsonb) to app_worker;

create function app_hidden.realtime_replay(for_user uuid, max_rows integer default 500) returns jsonb
  language plpgsql volatile security definer
  set search_path to pg_catalog, pg_temp
as $$
declare
  user_rooms text[];
  user_created timestamptz;
  result jsonb;
begin
  if max_rows is null or max_rows not between 1 and 1000 then
    perform app_hidden.raise_error('INVALID_INPUT', 'max_rows must be between 1 and 1000.', 400);
  end if;
  select array['user:' || u.id, 'all'] || case when u.role = 'admin' then array['admin'] else '{}' end, u.created_at
    into user_rooms, user_created
    from api.users u where u.id = for_user;
  if user_rooms is null then
    return '[]'::jsonb;
  end if;
  with candidates as (
    select m.*
      from app_private.realtime_messages m
      left join app_private.realtime_deliveries d on d.user_id = for_user and d.message_id = m.id
     where m.rooms && user_rooms
       and m.expires_at > now()
       and m.created_at >= user_created
       and (d.user_id is null or (d.delivered_at is null and d.attempts < d.max_attempts))
     order by case m.priority when 'critical' then 0 when 'high' then 1 when 'medium' then 2 else 3 end, m.created_at, m.id
     limit max_rows
  ), counted as (
    insert into app_private.realtime_deliveries as d (user_id, message_id, attempts, last_attempt_at)
    select for_user, c.id, 1, now() from candidates c
    on conflict (user_id, message_id) do update set attempts = d.attempts + 1, last_attempt_at = now()
    returning d.message_id
  )
  select coalesce(jsonb_agg(jsonb_build_object(
           'id', c.id, 'event', c.event, 'rooms', to_jsonb(c.rooms), 'payload', c.payload, 'priority', c.priority,
           'created_at', c.created_at, 'expires_at', c.expires_at)
           order by case c.priority when 'critical' then 0 when 'high' then 1 when 'medium' then 2 else 3 end,
                    c.created_at, c.id), '[]')
    into result
    from candidates c join counted k on k.message_id = c.id;
  return result;
end;
$$;
comment on function app_hidden.realtime_replay(uuid, integer) is
  E'The offline queue''s replay for a user whose socket just connected: the outbox messages addressed to the user (user:<id>, all, and admin for admins) since the account was created that are not expired, not acked by any socket of the user and replayed fewer than max_attempts times (5), critical first then oldest, at most max_rows (1-1000, default 500), as [{id, event, rooms, payload, priority, created_at, expires_at}]; each one returned counts as one attempt (app_private.realtime_deliveries). SECURITY DEFINER because the outbox and the delivery state are in app_private; EXECUTE is granted to app_worker alone.';
revoke execute on function app_hidden.realtime_replay(uuid, integer) from public;
grant execute on function app_hidden.realtime_replay(uuid, integer) to app_worker;
