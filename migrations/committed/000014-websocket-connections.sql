--! Previous: sha1:d51710cd114489310891897710168d206ef0092b
--! Hash: sha1:3ac39da9c0eb1894827eb8ba7377caaa8bcdec0c
--! Message: websocket connections

create table api.websocket_connections (
  id uuid not null default gen_random_uuid(),
  user_id uuid not null,
  connection_id text not null,
  role api.user_role not null,
  ip_address text,
  user_agent text,
  connected_at timestamptz not null default now(),
  last_activity timestamptz not null default now(),
  is_alive boolean not null default true,
  rooms text[] not null default '{}',
  constraint websocket_connections_pkey primary key (id),
  constraint websocket_connections_user_id_fkey foreign key (user_id) references api.users (id) on delete cascade,
  constraint websocket_connections_connection_id_key unique (connection_id),
  constraint websocket_connections_connection_id_not_blank check (connection_id ~ '\S')
);
comment on table api.websocket_connections is E'Realtime sockets open (or recently open) on the worker instances.';
comment on column api.websocket_connections.connection_id is E'Id the worker gave the socket; unique.';
comment on column api.websocket_connections.role is E'Role of the user when the socket connected.';
comment on column api.websocket_connections.is_alive is E'False once heartbeats stop.';
comment on column api.websocket_connections.rooms is E'Rooms the socket has joined (mirror of websocket_room_memberships).';

create index websocket_connections_user_id_idx on api.websocket_connections (user_id);
create index websocket_connections_is_alive_idx on api.websocket_connections (is_alive);
create index websocket_connections_role_idx on api.websocket_connections (role);
create index websocket_connections_last_activity_idx on api.websocket_connections (last_activity);
-- websocket_connections_connection_id_key already indexes connection_id.
create index websocket_connections_alive_last_activity_idx on api.websocket_connections (is_alive, last_activity desc) where is_alive = true;

alter table api.websocket_connections enable row level security;

create table api.websocket_room_memberships (
  id uuid not null default gen_random_uuid(),
  connection_id text not null,
  room_id text not null,
  joined_at timestamptz not null default now(),
  constraint websocket_room_memberships_pkey primary key (id),
  constraint websocket_room_memberships_connection_id_fkey foreign key (connection_id)
    references api.websocket_connections (connection_id) on delete cascade,
  constraint websocket_room_memberships_connection_id_room_id_key unique (connection_id, room_id),
  constraint websocket_room_memberships_room_id_not_blank check (room_id ~ '\S')
);
comment on table api.websocket_room_memberships is E'Which rooms (user:<id>, project:<id>, admin) each socket has joined.';

create index websocket_room_memberships_room_id_idx on api.websocket_room_memberships (room_id);
create index websocket_room_memberships_connection_id_idx on api.websocket_room_memberships (connection_id);

alter table api.websocket_room_memberships enable row level security;
