--! Previous: sha1:3ac39da9c0eb1894827eb8ba7377caaa8bcdec0c
--! Hash: sha1:c42242d09336940ab76dc725ea51e1549df0e61a
--! Message: websocket events

create type api.websocket_event_type as enum (
  'project_update', 'payment_received', 'system_alert', 'admin_broadcast', 'connection_status', 'heartbeat'
);
comment on type api.websocket_event_type is E'Kinds of realtime messages.';

create table api.websocket_events (
  id uuid not null default gen_random_uuid(),
  event_type api.websocket_event_type not null,
  connection_id text not null,
  room_id text,
  payload jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  delivered_at timestamptz,
  is_delivered boolean not null default false,
  constraint websocket_events_pkey primary key (id, created_at),
  constraint websocket_events_connection_id_fkey foreign key (connection_id)
    references api.websocket_connections (connection_id) on delete cascade,
  constraint websocket_events_delivery_consistent check (is_delivered = (delivered_at is not null))
) partition by range (created_at);
comment on table api.websocket_events is E'Realtime messages sent to sockets and whether they were acknowledged; partitioned by month, 3 months kept.';
comment on column api.websocket_events.delivered_at is E'When the client acknowledged the message.';

create index websocket_events_connection_id_idx on api.websocket_events (connection_id);
create index websocket_events_created_at_idx on api.websocket_events (created_at);
create index websocket_events_event_type_idx on api.websocket_events (event_type);
create index websocket_events_room_id_idx on api.websocket_events (room_id);
create index websocket_events_is_delivered_idx on api.websocket_events (is_delivered);
create index websocket_events_undelivered_idx on api.websocket_events (connection_id, created_at) where is_delivered = false;

alter table api.websocket_events enable row level security;

create table app_private.websocket_events_default partition of api.websocket_events default;
alter table app_private.websocket_events_default enable row level security;
select app_private.create_monthly_partitions('api.websocket_events', 3);
