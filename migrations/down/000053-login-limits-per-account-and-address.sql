-- Undoes 000053: login as 000052 left it (one limit per email), the
-- login helpers and unlock_login dropped, the per-email limit back under its
-- old name with the (account, address) limit's numbers.

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

drop function api.unlock_login(text);
drop function app_private.forget_login_failures(text, text);
drop function app_private.count_login_failure(text, text, uuid);
drop function app_private.login_wait_seconds(text, text);
drop function app_private.login_failure_buckets(text, text);

insert into app_private.rate_limits (action, max_count, window_seconds)
select 'login_failed', max_count, window_seconds from app_private.rate_limits where action = 'login_failed_account_address';
delete from app_private.rate_limit_events
 where bucket like 'login\_failed\_address:%' or bucket like 'login\_failed\_account:%' or bucket like 'login\_failed\_account\_address:%';
delete from app_private.rate_limits where action in ('login_failed_address', 'login_failed_account', 'login_failed_account_address');
