--! Previous: sha1:ff28055d9b8708d327f0cca3ef757c2d0d0b758a
--! Hash: sha1:664d4734fb690273d6e7326c4c0ffa65b7d0585d
--! Message: request context and errors

-- Functions the API roles must be able to execute (from RLS policies, the
-- db-pre-request hook and invoker functions) but that PostgREST must not
-- expose: they live in app_hidden, which the API roles can USE but which is
-- not in db-schemas (Graphile Starter's app_hidden).
create schema app_hidden;
comment on schema app_hidden is E'Helpers the API roles may execute but that PostgREST does not expose (request context, errors, rate limits).';
grant usage on schema app_hidden to web_anon, app_client, app_admin, app_worker;

create function app_hidden.jwt_claims() returns jsonb
  language sql stable parallel safe
  set search_path to pg_catalog, pg_temp
as $$
  select coalesce(nullif(current_setting('request.jwt.claims', true), '')::jsonb, '{}'::jsonb);
$$;
comment on function app_hidden.jwt_claims() is E'The verified JWT claims of the current request ({} when anonymous).';

create function app_hidden.current_user_id() returns uuid
  language sql stable parallel safe
  set search_path to pg_catalog, pg_temp
as $$
  select case when app_hidden.jwt_claims() ->> 'sub' ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
              then (app_hidden.jwt_claims() ->> 'sub')::uuid end;
$$;
comment on function app_hidden.current_user_id() is E'Id of the signed-in user (the JWT sub claim), or null. In policies write (select app_hidden.current_user_id()) so it is evaluated once per statement.';

create function app_hidden.current_user_is_admin() returns boolean
  language sql stable parallel safe
  set search_path to pg_catalog, pg_temp
as $$
  select coalesce(app_hidden.jwt_claims() ->> 'role' = 'app_admin', false);
$$;
comment on function app_hidden.current_user_is_admin() is E'True when the request carries an admin token.';

create function app_hidden.request_header(header_name text) returns text
  language sql stable parallel safe
  set search_path to pg_catalog, pg_temp
as $$
  select nullif(current_setting('request.headers', true), '')::json ->> lower(header_name);
$$;
comment on function app_hidden.request_header(text) is E'A header of the current PostgREST request (lower-case name), or null.';

create function app_hidden.request_ip() returns text
  language sql stable parallel safe
  set search_path to pg_catalog, pg_temp
as $$
  select left(coalesce(
    nullif(btrim(split_part(app_hidden.request_header('x-forwarded-for'), ',', 1)), ''),
    host(inet_client_addr())), 100);
$$;
comment on function app_hidden.request_ip() is E'Client address: the first X-Forwarded-For entry (set by the reverse proxy), else the connection''s address.';

-- One way to fail: PostgREST's PGRST raise form gives the HTTP status and a
-- body of exactly {code, message, details, hint} with our stable code.
create function app_hidden.raise_error(
  error_code text,
  error_message text,
  http_status integer,
  error_details text default null,
  error_hint text default null
) returns void
  language plpgsql stable
  set search_path to pg_catalog, pg_temp
as $$
begin
  raise sqlstate 'PGRST' using
    message = json_build_object('code', error_code, 'message', error_message, 'details', error_details, 'hint', error_hint)::text,
    detail = json_build_object('status', http_status, 'headers', json_build_object())::text;
end;
$$;
comment on function app_hidden.raise_error(text, text, integer, text, text) is
  E'Aborts the request with HTTP status http_status and body {code, message, details, hint}. The codes are listed in the README (Errors).';

create function app_hidden.require_user_id() returns uuid
  language plpgsql stable
  set search_path to pg_catalog, pg_temp
as $$
declare
  user_id uuid := app_hidden.current_user_id();
begin
  if user_id is null then
    perform app_hidden.raise_error('NOT_AUTHENTICATED', 'Sign in first.', 401);
  end if;
  return user_id;
end;
$$;
comment on function app_hidden.require_user_id() is E'The signed-in user''s id, or NOT_AUTHENTICATED (401): the first line of every function that needs a caller.';

grant execute on all functions in schema app_hidden to web_anon, app_client, app_admin, app_worker;
