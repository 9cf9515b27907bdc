--! Previous: sha1:c432ebf4b0dca1542f922609721e57945533b2f5
--! Hash: sha1:373204a9d78f14f33400a7fb60316f6504496f18
--! Message: offline queue as a view of what the hub owes each user

-- Work in progress for the next migration (graphile-migrate `watch` applies it
-- on save; `npm run gm -- commit --message "..."` commits it). Write its down
-- script in migrations/down/ under the committed file's name.

-- The blueprint's offline queue, api.websocket_message_queue, as what the hub
-- really replays: a read-only view of each user's undelivered messages
-- (priority, expiry, attempts, max attempts), computed from the outbox
-- (app_private.realtime_messages) and the per-user delivery state
-- (app_private.realtime_deliveries). The blueprint's table, keyed by
-- connection, could not hold a message for a user with no connection, and
-- nothing ever wrote it. Max attempts become a property of the message.

do $$
begin
  if exists (select 1 from api.websocket_message_queue) then
    raise exception 'api.websocket_message_queue holds rows; nothing writes it, so they are not the hub''s: move them away before this migration replaces the table with a view';
  end if;
end;
$$;
drop table api.websocket_message_queue;

alter table app_private.realtime_messages add column max_attempts integer not null default 5;
alter table app_private.realtime_messages add constraint realtime_messages_max_attempts_range
  check (max_attempts between 1 and 100);
comment on column app_private.realtime_messages.max_attempts is
  E'How many times the offline queue replays the message to a user before giving up on it (5 unless the source says otherwise).';

create or replace function app_hidden.realtime_replay(for_user uuid, max_rows integer default 500) returns jsonb
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
       and d.delivered_at is null
       and coalesce(d.attempts, 0) < m.max_attempts
     order by case m.priority when 'critical' then 0 when 'high' then 1 when 'medium' then 2 else 3 end, m.created_at, m.id
     limit max_rows
  ), counted as (
    insert into app_private.realtime_deliveries as d (user_id, message_id, attempts, max_attempts, last_attempt_at)
    select for_user, c.id, 1, c.max_attempts, now() from candidates c
    on conflict (user_id, message_id) do update
      set attempts = d.attempts + 1, max_attempts = excluded.max_attempts, last_attempt_at = now()
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
  E'The offline queue''s replay for a user whose socket just connected: the outbox messages addressed to the user (user:<id>, all, and admin for admins) since the account was created that are not expired, not acked by any socket of the user and replayed fewer than their max_attempts times, critical first then oldest, at most max_rows (1-1000, default 500), as [{id, event, rooms, payload, priority, created_at, expires_at}]; each one returned counts as one attempt (app_private.realtime_deliveries). The same set, before counting, is what api.websocket_message_queue shows. SECURITY DEFINER because the outbox and the delivery state are in app_private; EXECUTE is granted to app_worker alone.';

create function app_hidden.websocket_message_queue()
  returns table (
    user_id uuid, message_id bigint, event_type text, rooms text[], payload jsonb,
    priority api.notification_priority, attempts integer, max_attempts integer,
    last_attempt_at timestamptz, created_at timestamptz, expires_at timestamptz)
  language sql stable security definer
  set search_path to pg_catalog, pg_temp
as $$
  -- Its own check: a client sees its own queue, an admin everyone's. Two
  -- branches rather than an OR, so a client's call is one indexed lookup.
  with readers as (
    select u.id, u.role, u.created_at from api.users u where u.id = app_hidden.current_user_id()
    union
    select u.id, u.role, u.created_at from api.users u where app_hidden.current_user_is_admin()
  )
  select u.id, m.id, m.event, m.rooms, m.payload, m.priority, coalesce(d.attempts, 0), m.max_attempts,
         d.last_attempt_at, m.created_at, m.expires_at
    from readers u
    join app_private.realtime_messages m
      on m.rooms && (array['user:' || u.id, 'all'] || case when u.role = 'admin' then array['admin'] else '{}' end)
     and m.created_at >= u.created_at
    left join app_private.realtime_deliveries d on d.user_id = u.id and d.message_id = m.id
   where m.expires_at > now()
     and d.delivered_at is null
     and coalesce(d.attempts, 0) < m.max_attempts;
$$;
comment on function app_hidden.websocket_message_queue() is
  E'The rows of api.websocket_message_queue: per user, the outbox messages the hub still owes them (addressed to them, not expired, not acked by any of their sockets, replayed fewer than max_attempts times). The caller''s own rows, or everyone''s for an admin. SECURITY DEFINER because the outbox and the delivery state are in app_private.';
revoke execute on function app_hidden.websocket_message_queue() from public;
grant execute on function app_hidden.websocket_message_queue() to app_client, app_admin;

create view api.websocket_message_queue with (security_invoker = true) as
  select * from app_hidden.websocket_message_queue();
comment on view api.websocket_message_queue is
  E'The offline queue: per user, the realtime messages not yet acked by any socket of theirs, which the hub replays on their next connect by priority (critical, high, medium, low) then age. A row leaves when a socket of the user acks the message, when it expires (expires_at) or when it has been replayed max_attempts times. Read only: the outbox sources fill it and the hub empties it. A client reads its own rows, an admin everyone''s.';
comment on column api.websocket_message_queue.message_id is
  E'The outbox message id: the id of the event frame, which the client acks.';
comment on column api.websocket_message_queue.attempts is
  E'Replays so far (a message sent live is not counted); at max_attempts it is given up.';
grant select on api.websocket_message_queue to app_client, app_admin;
