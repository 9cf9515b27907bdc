--! Previous: sha1:02da27dcbc69bce47e0dec8726f978cc727620fa
--! Hash: sha1:132609a0a98d2a3197c1fe6a565a0ea29a9e656d
--! Message: health

create function api.health() returns json
  language sql immutable
  set search_path to pg_catalog, pg_temp
as $$
  select json_build_object('status', 'ok');
$$;
comment on function api.health() is E'Liveness probe for load balancers: GET /rpc/health answers {"status":"ok"} when PostgREST reaches the database. Also the benchmarks'' baseline.';
grant execute on function api.health() to web_anon, app_client, app_admin;
