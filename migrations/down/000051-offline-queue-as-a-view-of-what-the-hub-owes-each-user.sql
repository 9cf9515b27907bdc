-- Undo 000051: the blueprint's api.websocket_message_queue table comes back
-- (empty, with its indexes, grants and policies of 000016 and 000026), the
-- replay reads max attempts from the delivery rows again.

drop view api.websocket_message_queue;
drop function app_hidden.websocket_message_queue();

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

alter table app_private.realtime_messages drop column max_attempts;

create table api.websocket_message_queue (
  id uuid not null default gen_random_uuid(),
  connection_id text not null,
  event_type api.websocket_event_type not null,
  payload jsonb not null default '{}'::jsonb,
  priority integer not null default 0,
  created_at timestamptz not null default now(),
  expires_at timestamptz,
  attempts integer not null default 0,
  max_attempts integer not null default 5,
  constraint websocket_message_queue_pkey primary key (id),
  constraint websocket_message_queue_connection_id_fkey foreign key (connection_id)
    references api.websocket_connections (connection_id) on delete cascade,
  constraint websocket_message_queue_attempts_valid check (attempts >= 0 and max_attempts > 0 and attempts <= max_attempts)
);
comment on table api.websocket_message_queue is E'Messages waiting for a socket that was offline; replayed by priority (lower first) then age when it reconnects.';
comment on column api.websocket_message_queue.priority is E'Lower numbers are delivered first.';
comment on column api.websocket_message_queue.expires_at is E'After this the message is dropped instead of delivered.';
comment on column api.websocket_message_queue.attempts is E'Delivery attempts so far; the message is given up at max_attempts.';

create index websocket_message_queue_connection_id_idx on api.websocket_message_queue (connection_id);
create index websocket_message_queue_priority_created_at_idx on api.websocket_message_queue (priority, created_at);
create index websocket_message_queue_expires_at_idx on api.websocket_message_queue (expires_at);
create index websocket_message_queue_attempts_idx on api.websocket_message_queue (attempts);
-- The blueprint's predicate also has "expires_at > now()", but an index
-- predicate must be immutable; the replay query filters expiry itself.
create index websocket_message_queue_deliverable_idx on api.websocket_message_queue (connection_id, priority asc, created_at)
  where attempts < max_attempts;

alter table api.websocket_message_queue enable row level security;

grant select, delete on api.websocket_message_queue to app_worker;
grant insert (connection_id, event_type, payload, priority, expires_at, attempts, max_attempts),
      update (priority, expires_at, attempts) on api.websocket_message_queue to app_worker;
create policy worker_all on api.websocket_message_queue for all to app_worker using (true) with check (true);
grant select on api.websocket_message_queue to app_admin;
create policy select_all_admin on api.websocket_message_queue for select to app_admin using (true);
