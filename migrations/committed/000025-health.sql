--! Previous: sha1:741f41ee4334cefeb1559e2a72c156e0956c79bd
--! Hash: sha1:e7e23875ac49f4101f0f6f9aef7e8abaddf27717
--! Message: health

create function api.health() returns json
  language sql immutable
  set search_path to pg_catalog, pg_temp
as $$
  select json_build_object('status', 'ok');
$$;
comment on function api.health() is E'Liveness probe for load balancers: GET /rpc/health answers {"status":"ok"} when PostgREST reaches the database. Also the benchmarks'' baseline.';
grant execute on function api.health() to web_anon, app_client, app_admin;
