--! Previous: sha1:01e58ae6b0a81c441a2df5fdda692376bce864c6
--! Hash: sha1:1e85a2a08f2c8686f961fb56b88afa0ebcdd0db2
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
