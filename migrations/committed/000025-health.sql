--! Previous: sha1:24b6628c10234e82357193e59c9f51dace7f5f17
--! Hash: sha1:c99a06a47356efa16e6e5bdb7ff1d087da286fde
--! Message: health

create function api.health() returns json
  language sql immutable
  set search_path to pg_catalog, pg_temp
as $$
  select json_build_object('status', 'ok');
$$;
comment on function api.health() is E'Liveness probe for load balancers: GET /rpc/health answers {"status":"ok"} when PostgREST reaches the database. Also the benchmarks'' baseline.';
grant execute on function api.health() to web_anon, app_client, app_admin;
