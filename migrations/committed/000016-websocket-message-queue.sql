--! Previous: sha1:c42242d09336940ab76dc725ea51e1549df0e61a
--! Hash: sha1:0c8e77c005a5412adf730783c683a7ec9b8b047b
--! Message: websocket message queue

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
