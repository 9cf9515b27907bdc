--! Previous: sha1:fa1afbfa599d1bd0006929c61da6f91fbda5c349
--! Hash: sha1:614bfe080a3869488d4a7a3cea53355b548c1fc1
--! Message: login limits per account and address

-- Failed logins limited per (account, address), per address and, as a
-- backstop, per account; an admin unlock; lockouts and unlocks audited.
--
-- Before, 5 failures for one email from anywhere made every login for it
-- answer 429, the right password included: anyone could lock out the public
-- admin@jasaweb.id. Now (numbers in app_private.rate_limits, operators tune):
--   login_failed_account_address  5 per 15 min: one address guessing one account's password;
--   login_failed_address         30 per 15 min: one address across accounts (credential stuffing);
--   login_failed_account         50 per hour:   every address together, a backstop far above what
--                                               one address can reach alone (5 per 15 min = 20 per hour).
-- A login is refused (429 TOO_MANY_ATTEMPTS, Retry-After: the seconds until
-- every full limit has a free slot) when any limit that applies to it is
-- full, before any hashing and without a lock; so the right password from
-- an address that is not blocked still signs in while another address is
-- blocked. Failures are counted after the hash under each bucket's lock, in
-- a fixed order (address, account+address, account); the failure that fills
-- a limit writes one audit row (CREATE on resource login_lockouts). A
-- successful login clears its own (account, address) failures (the user
-- proved the password there), not the address's or the account's (a
-- credential stuffer with one valid account must not reset them).
-- api.unlock_login {email} (admin) clears the account's failures at every
-- address and the backstop, audited as DELETE on login_lockouts.

-- The old per-email limit becomes the (account, address) one, with whatever
-- numbers the operator had given it.
insert into app_private.rate_limits (action, max_count, window_seconds)
select 'login_failed_account_address', max_count, window_seconds from app_private.rate_limits where action = 'login_failed';
delete from app_private.rate_limits where action = 'login_failed';
delete from app_private.rate_limit_events where bucket like 'login\_failed:%';
insert into app_private.rate_limits (action, max_count, window_seconds) values
  ('login_failed_address', 30, 900),
  ('login_failed_account', 50, 3600)
on conflict (action) do nothing;
insert into app_private.rate_limits (action, max_count, window_seconds) values ('login_failed_account_address', 5, 900)
on conflict (action) do nothing;

create function app_private.login_failure_buckets(email text, address text)
  returns table (scope text, action text, subject text)
  language sql immutable parallel safe
  set search_path to pg_catalog, pg_temp
as $$
  -- In lock order. An email longer than any account's (254) counts only
  -- against the address: it cannot be anyone's, and would not fit the index.
  select 'address', 'login_failed_address', address
  union all
  select 'account_address', 'login_failed_account_address', jsonb_build_array(email, address)::text where length(email) <= 254
  union all
  select 'account', 'login_failed_account', email where length(email) <= 254;
$$;
comment on function app_private.login_failure_buckets(text, text) is
  E'The rate-limit buckets a failed login counts in, in the order their locks are taken: the address; the (account, address) pair, subject the JSON array [email, address] (unambiguous whatever either holds); the account (its email, also when no account has it, so answers do not tell which emails exist).';

create function app_private.login_wait_seconds(email text, address text) returns integer
  language sql volatile
  set search_path to pg_catalog, pg_temp
as $$
  select max(app_private.rate_limit_wait_seconds(b.action, b.subject))
    from app_private.login_failure_buckets(email, address) b;
$$;
comment on function app_private.login_wait_seconds(text, text) is
  E'Null when a login for email from address may be tried; else the seconds until every full limit that applies to it has a free slot (its Retry-After). Takes no lock.';

create function app_private.count_login_failure(email text, address text, account_id uuid) returns void
  language plpgsql volatile
  set search_path to pg_catalog, pg_temp
as $$
declare
  b record;
  lim app_private.rate_limits;
  bucket_name text;
  used integer;
  wait_seconds integer;
begin
  for b in select * from app_private.login_failure_buckets(email, address) loop
    bucket_name := b.action || ':' || b.subject;
    select * into lim from app_private.rate_limits where action = b.action;
    if not found then
      raise exception 'no rate limit is defined for action %', b.action;
    end if;
    -- Serialises the failures of one bucket, so exactly one of them sees the
    -- limit fill. Held to the commit, which follows at once.
    perform pg_advisory_xact_lock(hashtextextended(bucket_name, 0));
    delete from app_private.rate_limit_events
     where bucket = bucket_name and occurred_at < clock_timestamp() - make_interval(secs => lim.window_seconds);
    insert into app_private.rate_limit_events (bucket) values (bucket_name);
    select count(*) into used from app_private.rate_limit_events where bucket = bucket_name;
    if used = lim.max_count then
      wait_seconds := app_private.rate_limit_wait_seconds(b.action, b.subject);
      perform app_private.write_audit('CREATE', 'login_lockouts', case when b.scope <> 'address' then account_id::text end,
        null, jsonb_build_object(
          'scope', b.scope,
          'email', case when b.scope <> 'address' then email end,
          'address', case when b.scope <> 'account' then address end,
          'failures', used,
          'window_seconds', lim.window_seconds,
          'blocked_until', clock_timestamp() + make_interval(secs => coalesce(wait_seconds, lim.window_seconds))));
    end if;
  end loop;
end;
$$;
comment on function app_private.count_login_failure(text, text, uuid) is
  E'Counts one failed login of email from address in each of its buckets (app_private.login_failure_buckets, under each bucket''s lock, pruning what left the window). The failure that fills a limit writes one audit row: CREATE on resource login_lockouts, resource id the account (null when no account has the email, or for an address lockout), new values {scope: address | account_address | account, email, address, failures, window_seconds, blocked_until}.';

create function app_private.forget_login_failures(email text, address text) returns void
  language plpgsql volatile
  set search_path to pg_catalog, pg_temp
as $$
declare
  bucket_name text := 'login_failed_account_address:' || jsonb_build_array(email, address)::text;
begin
  perform pg_advisory_xact_lock(hashtextextended(bucket_name, 0));
  delete from app_private.rate_limit_events where bucket = bucket_name;
end;
$$;
comment on function app_private.forget_login_failures(text, text) is
  E'After a successful login: clears the failures of that (account, address) pair only; the address''s and the account''s counts stay.';

create or replace function api.login(email text, password text) returns json
  language plpgsql volatile security definer
  set search_path to pg_catalog, public, pg_temp
as $$
declare
  clean_email text := lower(btrim(coalesce(email, '')));
  address text := coalesce(app_hidden.request_ip(), 'local');
  wait_seconds integer := app_private.login_wait_seconds(clean_email, address);
  found_user api.users;
  stored_hash text;
  computed text;
begin
  -- Refused before any hashing, without a lock: a flood of refused calls
  -- costs a few index reads each.
  if wait_seconds is not null then
    perform app_hidden.raise_error('TOO_MANY_ATTEMPTS', 'Too many failed sign-ins; try again later.', 429,
      null, null, jsonb_build_object('Retry-After', wait_seconds::text));
  end if;
  if length(clean_email) <= 254 then
    select u.* into found_user from api.users u where u.email = clean_email;
    select s.password_hash into stored_hash from app_private.user_secrets s where s.user_id = found_user.id;
    -- The same bcrypt work whether or not the account exists, so timing does
    -- not tell which emails have accounts. (No account has a longer email.)
    computed := app_private.hash_password(coalesce(password, ''), coalesce(stored_hash, '$2a$10$' || repeat('x', 53)));
    if found_user.id is not null and stored_hash is not null and computed = stored_hash then
      perform app_private.forget_login_failures(clean_email, address);
      perform app_private.write_audit('LOGIN', 'users', found_user.id::text, null, null, found_user.id);
      return app_private.session_for(found_user);
    end if;
  end if;
  -- Answer 401 without raising, so the failed attempt is counted (a raise
  -- would roll the counter back).
  perform app_private.count_login_failure(clean_email, address, found_user.id);
  perform set_config('response.status', '401', true);
  return json_build_object('code', 'INVALID_CREDENTIALS', 'message', 'Wrong email or password.', 'details', null, 'hint', null);
end;
$$;
comment on function api.login(text, text) is
  E'Signs in: returns {token, user}. Wrong email or password: 401 INVALID_CREDENTIALS. Failures are limited per (account, address), per address and per account (app_private.rate_limits login_failed_*: 5 per 15 minutes, 30 per 15 minutes, 50 per hour); past any of them 429 TOO_MANY_ATTEMPTS with Retry-After, refused before the password is hashed, whether or not the account exists, so the right password from another address still works while one address is blocked. A success clears that (account, address) pair''s failures. The hash takes one of the password-hash slots: BUSY (503, Retry-After: 0) when every slot is taken.';

create function api.unlock_login(email text) returns json
  language plpgsql volatile security definer
  set search_path to pg_catalog, pg_temp
as $$
declare
  clean_email text;
  target api.users;
  pair_prefix text;
  cleared integer;
  addresses jsonb;
begin
  perform app_hidden.require_admin();
  perform app_private.enforce_user_rate_limit('admin_action');
  clean_email := app_private.validate_email(email);
  select u.* into target from api.users u where u.email = clean_email;
  if not found then
    perform app_hidden.raise_error('USER_NOT_FOUND', 'There is no such user.', 404);
  end if;
  -- 'login_failed_account_address:["<email>", ' starts the bucket of every address.
  pair_prefix := 'login_failed_account_address:' || left(jsonb_build_array(clean_email)::text, -1) || ', ';
  with cleared_events as (
    delete from app_private.rate_limit_events e
     where e.bucket = 'login_failed_account:' || clean_email
        or left(e.bucket, length(pair_prefix)) = pair_prefix
    returning e.bucket
  )
  select count(*)::integer,
         coalesce(jsonb_agg(distinct (substr(c.bucket, length('login_failed_account_address:') + 1)::jsonb ->> 1))
                    filter (where c.bucket <> 'login_failed_account:' || clean_email), '[]'::jsonb)
    into cleared, addresses
    from cleared_events c;
  perform app_private.write_audit('DELETE', 'login_lockouts', target.id::text,
    jsonb_build_object('email', clean_email, 'failures', cleared, 'addresses', addresses), null);
  return json_build_object('user_id', target.id, 'email', clean_email, 'failures_cleared', cleared);
end;
$$;
comment on function api.unlock_login(text) is
  E'Admin only: clears the failed logins of the account with this email at every address, and its account-wide count, so it can sign in again at once; the per-address counts stay (they limit the addresses, not the account). Audited: DELETE on resource login_lockouts, resource id the account, old values {email, failures cleared, addresses}. Returns {user_id, email, failures_cleared}. 100 admin actions per minute (VOLATILE: POST only). SECURITY DEFINER: the counters are in app_private. Errors: NOT_AUTHENTICATED (401), FORBIDDEN (403), INVALID_EMAIL (400), USER_NOT_FOUND (404), RATE_LIMITED (429 with Retry-After).';
revoke execute on function api.unlock_login(text) from public;
grant execute on function api.unlock_login(text) to app_client, app_admin;
