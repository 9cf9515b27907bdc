--! Previous: sha1:66dd1f4ad1cfc2312308166438ab70b573f5026c
--! Hash: sha1:ee80c54e90dd7f3cbdd785e3f1bf7602bd14d223
--! Message: health

create function api.health() returns json
  language sql immutable
  set search_path to pg_catalog, pg_temp
as $$
  select json_build_object('status', 'ok');
$$;
comment on function api.health() is E'Liveness probe for load balancers: GET /rpc/health answers {"status":"ok"} when PostgREST reaches the database. Also the benchmarks'' baseline.';
grant execute on function api.health() to web_anon, app_client, app_admin;
