--! Previous: sha1:373204a9d78f14f33400a7fb60316f6504496f18
--! Hash: sha1:fa1afbfa599d1bd0006929c61da6f91fbda5c349
--! Message: password hash slots

-- Password hashing bounded: at most N bcrypt hashes run at once, and a
-- sign-up over its limit is refused before any hashing.
--
-- A bcrypt hash (cost 10) keeps a pooled PostgREST connection busy for
-- ~60 ms of CPU; 100 concurrent logins queued every other request (health
-- included) behind them until PostgREST answered 504. Every hash now takes
-- one of N slots, transaction-level advisory locks (class
-- app_private.password_hash_lock_class(), keys 1..N) tried without waiting;
-- when none is free the call answers at once 503 BUSY instead of queueing
-- on the pool. (PostgREST puts Retry-After: 0 on every 503 itself, which is
-- right here, a slot frees within one hash; a second Retry-After from us
-- would make the header "0, 1".) N is the settings row password_hash_slots
-- (PASSWORD_HASH_SLOTS, written at boot; 2 when unset, for 2 cores). A slot
-- is held from the hash to the commit, so nothing slow may come after the
-- hash: register now takes its per-address lock only after hashing (before,
-- the lock was held across the hash, so sign-ups from one address queued on
-- the pool), and refuses an address over its limit, or a taken email,
-- before hashing, without a lock.

create function app_private.password_hash_lock_class() returns integer
  language sql immutable parallel safe
  return 730012;
comment on function app_private.password_hash_lock_class() is
  E'The first key of the password-hash slots: pg_try_advisory_xact_lock(password_hash_lock_class(), slot) for slot 1..password_hash_slots. A fixed number, so operators and tests can see (pg_locks: classid = 730012, objsubid = 2) or hold the slots.';

create function app_private.password_hash_slots() returns integer
  language sql stable
  set search_path to pg_catalog, pg_temp
as $$
  select coalesce((select least(greatest(btrim(s.value)::integer, 1), 64)
                     from app_private.settings s
                    where s.name = 'password_hash_slots' and s.value ~ '^\s*[0-9]{1,6}\s*$'), 2);
$$;
comment on function app_private.password_hash_slots() is
  E'How many bcrypt hashes may run at once: the settings row password_hash_slots (PASSWORD_HASH_SLOTS at boot) clamped to 1-64; 2 when unset or not a number (one per core of the 2-core machine the stack is sized for).';

create function app_private.hash_password(password text, salt text) returns text
  language plpgsql volatile
  set search_path to pg_catalog, pg_temp
as $$
declare
  slots integer := app_private.password_hash_slots();
begin
  for slot in 1..slots loop
    -- Held until the transaction ends: the caller must do nothing slow after the hash.
    if pg_try_advisory_xact_lock(app_private.password_hash_lock_class(), slot) then
      return public.crypt(password, salt);
    end if;
  end loop;
  -- No Retry-After of ours: PostgREST adds Retry-After: 0 to every 503.
  perform app_hidden.raise_error('BUSY', 'Too many passwords are being checked right now; try again in a moment.', 503);
  return null;
end;
$$;
comment on function app_private.hash_password(text, text) is
  E'crypt(password, salt) in one of the password-hash slots (app_private.password_hash_slots), the only place a password is hashed: when every slot is taken it answers at once 503 BUSY (with PostgREST''s Retry-After: 0: a slot frees within one hash) instead of queueing on the connection pool. The slot is a transaction-level advisory lock, held until commit.';

create function app_private.rate_limit_wait_seconds(action_name text, subject text) returns integer
  language plpgsql volatile
  set search_path to pg_catalog, pg_temp
as $$
declare
  lim app_private.rate_limits;
  nth_latest timestamptz;
begin
  select * into lim from app_private.rate_limits where action = action_name;
  if not found then
    raise exception 'no rate limit is defined for action %', action_name;
  end if;
  -- The limit is full when the window holds max_count events; a slot frees
  -- when the max_count-th latest of them leaves the window.
  select e.occurred_at into nth_latest
    from app_private.rate_limit_events e
   where e.bucket = action_name || ':' || subject
     and e.occurred_at > clock_timestamp() - make_interval(secs => lim.window_seconds)
   order by e.occurred_at desc
  offset lim.max_count - 1 limit 1;
  if nth_latest is null then
    return null;
  end if;
  return greatest(1, ceil(extract(epoch from nth_latest + make_interval(secs => lim.window_seconds) - clock_timestamp())))::integer;
end;
$$;
comment on function app_private.rate_limit_wait_seconds(text, text) is
  E'Null while action_name has a free slot for subject; else the whole seconds (at least 1) until it has one. Reads at most max_count events and takes no lock, so it can refuse a call before any costly work without queueing concurrent callers (the count is made exact later under the bucket''s lock by rate_limit_exceeded).';

create or replace function api.register(email text, password text, name text, phone text default null) returns json
  language plpgsql volatile security definer
  set search_path to pg_catalog, public, pg_temp
as $$
declare
  clean_email text := app_private.validate_email(email);
  clean_phone text := nullif(btrim(phone), '');
  address text := coalesce(app_hidden.request_ip(), 'local');
  wait_seconds integer;
  new_hash text;
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
  -- Refused before any hashing, without a lock.
  wait_seconds := app_private.rate_limit_wait_seconds('register', address);
  if wait_seconds is not null then
    perform app_hidden.raise_error('RATE_LIMITED', 'Too many sign-ups from this address; try again later.', 429,
      null, null, jsonb_build_object('Retry-After', wait_seconds::text));
  end if;
  if exists (select 1 from api.users u where u.email = clean_email) then
    perform app_hidden.raise_error('EMAIL_TAKEN', 'An account with this email already exists.', 409);
  end if;
  new_hash := app_private.hash_password(password, gen_salt('bf', 10));
  -- The exact count, under the address's lock (taken after the hash, so
  -- concurrent sign-ups never wait on each other's hashing).
  if app_private.rate_limit_exceeded('register', address) then
    perform app_hidden.raise_error('RATE_LIMITED', 'Too many sign-ups from this address; try again later.', 429,
      null, null, app_private.rate_limit_retry_after('register', address));
  end if;
  perform app_private.count_rate_limited('register', address);
  begin
    insert into api.users (email, name, phone) values (clean_email, btrim(register.name), clean_phone) returning * into new_user;
  exception when unique_violation then
    perform app_hidden.raise_error('EMAIL_TAKEN', 'An account with this email already exists.', 409);
  end;
  insert into app_private.user_secrets (user_id, password_hash) values (new_user.id, new_hash);
  return app_private.session_for(new_user);
end;
$$;
comment on function api.register(text, text, text, text) is
  E'Creates a client account and signs it in: returns {token, user}. 20 sign-ups per hour per client address, refused before the password is hashed; the hash takes one of the password-hash slots. Errors: INVALID_EMAIL, WEAK_PASSWORD, INVALID_NAME, INVALID_PHONE (400), EMAIL_TAKEN (409), RATE_LIMITED (429 with Retry-After), BUSY (503, Retry-After: 0: every password-hash slot is taken).';

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
  computed := app_private.hash_password(coalesce(password, ''), coalesce(stored_hash, '$2a$10$' || repeat('x', 53)));
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
  E'Signs in: returns {token, user}. Wrong email or password: 401 INVALID_CREDENTIALS; after 5 failures for one email within 15 minutes: 429 TOO_MANY_ATTEMPTS (whether or not the account exists). The hash takes one of the password-hash slots: BUSY (503, Retry-After: 0) when every slot is taken.';
