--! Previous: sha1:ba8d9d4253edd73a5fd9bfad97331a6ad6d0fbee
--! Hash: sha1:674f9c60f823eaa3d68f5a21982d670453622388
--! Message: health

create function api.health() returns json
  language sql immutable
  set search_path to pg_catalog, pg_temp
as $$
  select json_build_object('status', 'ok');
$$;
comment on function api.health() is E'Liveness probe for load balancers: GET /rpc/health answers {"status":"ok"} when PostgREST reaches the database. Also the benchmarks'' baseline.';
grant execute on function api.health() to web_anon, app_client, app_admin;
