--! Previous: sha1:0b4d87086065ddeaf0ef541cb16e747b6b606a5a
--! Hash: sha1:cdc0d16ba0ac646c03f43696178bf91afed6f141
--! Message: partition maintenance

create function app_private.maintain_partitions() returns jsonb
  language plpgsql
  set search_path to pg_catalog, pg_temp
as $$
begin
  return jsonb_build_object(
    'created', to_jsonb(array(
      select app_private.create_monthly_partitions('api.audit_logs', 3)
      union all
      select app_private.create_monthly_partitions('api.websocket_events', 3))),
    'dropped', to_jsonb(array(
      select app_private.drop_expired_partitions('api.audit_logs', 12)
      union all
      select app_private.drop_expired_partitions('api.websocket_events', 3))));
end;
$$;
comment on function app_private.maintain_partitions() is
  E'Monthly partition upkeep, run on a schedule by the worker: creates the next 3 months of audit_logs and websocket_events partitions and drops those past retention (12 months of audit logs, 3 of events). Returns what it created and dropped.';
