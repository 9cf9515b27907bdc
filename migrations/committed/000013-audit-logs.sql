--! Previous: sha1:9510ef061c3a3a87a2b3b1f2533cd13c76fa82c3
--! Hash: sha1:d51710cd114489310891897710168d206ef0092b
--! Message: audit logs

create type api.audit_action as enum (
  'CREATE', 'UPDATE', 'DELETE', 'LOGIN', 'LOGOUT', 'VIEW',
  'PAYMENT_INIT', 'PAYMENT_SUCCESS', 'PAYMENT_FAILED', 'EXPORT', 'IMPORT', 'ROLE_CHANGE'
);
comment on type api.audit_action is E'What an audit row records.';

-- Partitioned by month; the primary key must include the partition key.
create table api.audit_logs (
  id uuid not null default gen_random_uuid(),
  user_id uuid,
  action api.audit_action not null,
  resource text not null,
  resource_id text,
  old_values jsonb,
  new_values jsonb,
  ip_address text,
  user_agent text,
  "timestamp" timestamptz not null default now(),
  constraint audit_logs_pkey primary key (id, "timestamp"),
  constraint audit_logs_user_id_fkey foreign key (user_id) references api.users (id) on delete set null,
  constraint audit_logs_resource_not_blank check (resource ~ '\S')
) partition by range ("timestamp");
comment on table api.audit_logs is E'Append-only audit trail (nobody updates or deletes rows), partitioned by month; 12 months are kept active.';
comment on column api.audit_logs.user_id is E'Who acted (null for anonymous or deleted users).';
comment on column api.audit_logs.resource is E'Kind of thing acted on, e.g. the table name.';
comment on column api.audit_logs.resource_id is E'Id of the thing acted on.';
comment on column api.audit_logs.old_values is E'State before the change (UPDATE, DELETE), secrets redacted.';
comment on column api.audit_logs.new_values is E'State after the change (CREATE, UPDATE), secrets redacted.';
comment on column api.audit_logs.ip_address is E'Client address as the request reported it (X-Forwarded-For or the connection).';

create index audit_logs_user_id_idx on api.audit_logs (user_id);
create index audit_logs_action_idx on api.audit_logs (action);
create index audit_logs_resource_idx on api.audit_logs (resource);
create index audit_logs_timestamp_idx on api.audit_logs ("timestamp");
create index audit_logs_resource_resource_id_idx on api.audit_logs (resource, resource_id);
create index audit_logs_timestamp_action_idx on api.audit_logs ("timestamp", action);
create index audit_logs_user_id_timestamp_idx on api.audit_logs (user_id, "timestamp");
create index audit_logs_user_id_action_timestamp_desc_idx on api.audit_logs (user_id, action, "timestamp" desc);
create index audit_logs_resource_timestamp_desc_idx on api.audit_logs (resource, "timestamp" desc);

alter table api.audit_logs enable row level security;

-- A row whose month has no partition yet still lands (and is moved into its
-- partition when the maintenance creates it).
create table app_private.audit_logs_default partition of api.audit_logs default;
alter table app_private.audit_logs_default enable row level security;
select app_private.create_monthly_partitions('api.audit_logs', 3);
