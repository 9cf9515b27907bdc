--! Previous: -
--! Hash: sha1:5575310496a37a70a134a4b4c9c0e9b246efb712
--! Message: roles and schemas

-- Roles are cluster-wide: create them only when missing, then (re)state
-- their attributes so a cluster that already had them ends up the same.
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'authenticator') then
    create role authenticator;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'web_anon') then
    create role web_anon;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'app_client') then
    create role app_client;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'app_admin') then
    create role app_admin;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'app_worker') then
    create role app_worker;
  end if;
end
$$;

-- PostgREST connects as authenticator (password set at boot, never here)
-- and switches to the request's role with SET LOCAL ROLE.
alter role authenticator with login noinherit nosuperuser nocreatedb nocreaterole;
alter role web_anon with nologin;
alter role app_client with nologin;
alter role app_admin with nologin;
alter role app_worker with login nosuperuser nocreatedb nocreaterole;
grant web_anon, app_client, app_admin to authenticator;

-- Functions are not callable by everyone by default: each RPC grants
-- EXECUTE to the roles that may call it.
alter default privileges revoke execute on functions from public;

create schema api;
comment on schema api is E'The JasaWeb REST API: the only schema PostgREST exposes.';
grant usage on schema api to web_anon, app_client, app_admin, app_worker;

create schema app_private;
comment on schema app_private is E'Secrets and internals (password hashes, counters, settings, partitions); no API role can use it.';
revoke all on schema app_private from public;
