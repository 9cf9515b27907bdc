-- Back to RATE_LIMITED without Retry-After (api.register and
-- app_private.enforce_user_rate_limit as migrations 000024 and 000022 wrote
-- them), and no resilience API or breaker snapshots.

create or replace function api.register(email text, password text, name text, phone text default null) returns json
  language plpgsql volatile security definer
  set search_path to pg_catalog, public, pg_temp
as $$
declare
  clean_email text := app_private.validate_email(email);
  clean_phone text := nullif(btrim(phone), '');
  new_user api.users;
begin
  if password is null or length(password) < 8 then
    perform app_hidden.raise_error('WEAK_PASSWORD', 'The password must have at least 8 characters.', 400);
  end if;
  -- bcrypt reads only the first 72 bytes; refuse rather than silently ignore the rest.
  if octet_length(password) > 72 then
    perform app_hidden.raise_error('WEAK_PASSWORD', 'The password must be at most 72 bytes long.', 400);
  end if;
  perform app_private.validate_profile(name, clean_phone);
  if app_private.rate_limit_exceeded('register', coalesce(app_hidden.request_ip(), 'local')) then
    perform app_hidden.raise_error('RATE_LIMITED', 'Too many sign-ups from this address; try again later.', 429);
  end if;
  perform app_private.count_rate_limited('register', coalesce(app_hidden.request_ip(), 'local'));
  begin
    insert into api.users (email, name, phone) values (clean_email, btrim(register.name), clean_phone) returning * into new_user;
  exception when unique_violation then
    perform app_hidden.raise_error('EMAIL_TAKEN', 'An account with this email already exists.', 409);
  end;
  insert into app_private.user_secrets (user_id, password_hash) values (new_user.id, crypt(password, gen_salt('bf', 10)));
  return app_private.session_for(new_user);
end;
$$;

create or replace function app_private.enforce_user_rate_limit(action_name text) returns void
  language plpgsql volatile
  set search_path to pg_catalog, pg_temp
as $$
declare
  user_id uuid := app_hidden.require_user_id();
begin
  if app_private.rate_limit_exceeded(action_name, user_id::text) then
    perform app_hidden.raise_error('RATE_LIMITED', format('Too many %s requests; try again later.', action_name), 429);
  end if;
  perform app_private.count_rate_limited(action_name, user_id::text);
end;
$$;
comment on function app_private.enforce_user_rate_limit(text) is E'The per-user limit for costly actions: call it first in a (VOLATILE, POST-only) business function. Raises RATE_LIMITED (429) past the limit; otherwise counts the call, which is kept only if the action commits.';

drop function app_private.rate_limit_retry_after(text, text);
drop function app_hidden.raise_error(text, text, integer, text, text, jsonb);
drop function api.reset_circuit_breaker(text);
drop function api.resilience_status();
delete from app_private.rate_limit_events where bucket like 'resilience\_api:%';
delete from app_private.rate_limits where action = 'resilience_api';
drop function app_hidden.forget_worker_instance(text);
drop function app_hidden.record_breaker_snapshot(text, timestamptz, integer, text, text, integer, integer, timestamptz, text, timestamptz, bigint, bigint, bigint);
drop table app_private.breaker_snapshots;
