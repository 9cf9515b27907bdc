-- Undoes 000052: register and login as 000041 and 000024 left them (crypt
-- without a slot, register's per-address lock taken before the hash), the
-- slot and wait helpers dropped.

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
    perform app_hidden.raise_error('RATE_LIMITED', 'Too many sign-ups from this address; try again later.', 429,
      null, null, app_private.rate_limit_retry_after('register', coalesce(app_hidden.request_ip(), 'local')));
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
comment on function api.register(text, text, text, text) is
  E'Creates a client account and signs it in: returns {token, user}. Errors: INVALID_EMAIL, WEAK_PASSWORD, INVALID_NAME, INVALID_PHONE (400), EMAIL_TAKEN (409), RATE_LIMITED (429).';

create or replace function api.login(email text, password text) returns json
  language plpgsql volatile security definer
  set search_path to pg_catalog, public, pg_temp
as $$
declare
  clean_email text := lower(btrim(coalesce(email, '')));
  found_user api.users;
  stored_hash text;
  computed text;
begin
  if app_private.rate_limit_exceeded('login_failed', clean_email) then
    perform app_hidden.raise_error('TOO_MANY_ATTEMPTS', 'Too many failed sign-ins for this email; try again later.', 429);
  end if;
  select u.* into found_user from api.users u where u.email = clean_email;
  select s.password_hash into stored_hash from app_private.user_secrets s where s.user_id = found_user.id;
  -- The same bcrypt work whether or not the account exists, so timing does
  -- not tell which emails have accounts.
  computed := crypt(coalesce(password, ''), coalesce(stored_hash, '$2a$10$' || repeat('x', 53)));
  if found_user.id is null or stored_hash is null or computed <> stored_hash then
    -- Answer 401 without raising, so the failed attempt is counted (a raise
    -- would roll the counter back).
    perform app_private.count_rate_limited('login_failed', clean_email);
    perform set_config('response.status', '401', true);
    return json_build_object('code', 'INVALID_CREDENTIALS', 'message', 'Wrong email or password.', 'details', null, 'hint', null);
  end if;
  perform app_private.write_audit('LOGIN', 'users', found_user.id::text, null, null, found_user.id);
  return app_private.session_for(found_user);
end;
$$;
comment on function api.login(text, text) is
  E'Signs in: returns {token, user}. Wrong email or password: 401 INVALID_CREDENTIALS; after 5 failures for one email within 15 minutes: 429 TOO_MANY_ATTEMPTS (whether or not the account exists).';

drop function app_private.rate_limit_wait_seconds(text, text);
drop function app_private.hash_password(text, text);
drop function app_private.password_hash_slots();
drop function app_private.password_hash_lock_class();
