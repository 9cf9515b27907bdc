--! Previous: sha1:6e4a0fecd605547fa227b0171b7477cab5f702d7
--! Hash: sha1:24b6628c10234e82357193e59c9f51dace7f5f17
--! Message: auth

alter table api.users add column email_verified boolean not null default false;
comment on column api.users.email_verified is E'Whether the email address was confirmed; only admins (and the verification flow) change it.';

create table app_private.revoked_tokens (
  jti uuid not null,
  user_id uuid,
  expires_at timestamptz not null,
  revoked_at timestamptz not null default now(),
  constraint revoked_tokens_pkey primary key (jti),
  constraint revoked_tokens_user_id_fkey foreign key (user_id) references api.users (id) on delete cascade
);
comment on table app_private.revoked_tokens is E'Tokens signed out before they expired (by jti); rows past expires_at can be deleted.';
create index revoked_tokens_expires_at_idx on app_private.revoked_tokens (expires_at);
alter table app_private.revoked_tokens enable row level security;

insert into app_private.rate_limits (action, max_count, window_seconds) values ('register', 20, 3600);

create function app_private.base64url(data bytea) returns text
  language sql immutable strict parallel safe
  set search_path to pg_catalog, pg_temp
as $$
  select translate(encode(data, 'base64'), E'+/=\n', '-_');
$$;
comment on function app_private.base64url(bytea) is E'Base64url without padding, as JWTs use it.';

create function app_private.jwt_sign(claims jsonb) returns text
  language plpgsql stable
  set search_path to pg_catalog, public, pg_temp
as $$
declare
  secret text := app_private.setting('jwt_secret');
  signing_input text;
begin
  if secret is null or length(secret) < 32 then
    perform app_hidden.raise_error('SERVER_MISCONFIGURED', 'The server has no JWT secret; the operator must supply JWT_SECRET.', 503);
  end if;
  signing_input := app_private.base64url(convert_to('{"alg":"HS256","typ":"JWT"}', 'utf8'))
                   || '.' || app_private.base64url(convert_to(claims::text, 'utf8'));
  return signing_input || '.' || app_private.base64url(hmac(convert_to(signing_input, 'utf8'), convert_to(secret, 'utf8'), 'sha256'));
end;
$$;
comment on function app_private.jwt_sign(jsonb) is E'Signs claims as an HS256 JWT with the secret PostgREST verifies (app_private.settings jwt_secret, supplied at boot).';

create function app_private.session_for(u api.users) returns json
  language plpgsql volatile
  set search_path to pg_catalog, pg_temp
as $$
declare
  issued_at bigint := floor(extract(epoch from now()));
  lifetime integer := coalesce(nullif(app_private.setting('jwt_lifetime_seconds'), '')::integer, 3600);
begin
  return json_build_object(
    'token', app_private.jwt_sign(jsonb_build_object(
      'role', case u.role when 'admin' then 'app_admin' else 'app_client' end,
      'sub', u.id,
      'email', u.email,
      'iat', issued_at,
      'exp', issued_at + lifetime,
      'jti', gen_random_uuid())),
    'user', json_build_object('id', u.id, 'email', u.email, 'name', u.name, 'phone', u.phone, 'role', u.role,
                              'email_verified', u.email_verified, 'created_at', u.created_at));
end;
$$;
comment on function app_private.session_for(api.users) is E'{token, user} for a user who just signed in or up.';

create function app_private.validate_email(raw text) returns text
  language plpgsql immutable
  set search_path to pg_catalog, pg_temp
as $$
declare
  email text := lower(btrim(raw));
begin
  if email is null or email = '' then
    perform app_hidden.raise_error('INVALID_EMAIL', 'An email address is required.', 400);
  end if;
  if length(email) > 254 or email !~ '^[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}$' then
    perform app_hidden.raise_error('INVALID_EMAIL', 'The email address is not valid.', 400);
  end if;
  return email;
end;
$$;
comment on function app_private.validate_email(text) is E'The email trimmed and lower-cased, or INVALID_EMAIL (400).';

create function app_private.validate_profile(name text, phone text) returns void
  language plpgsql immutable
  set search_path to pg_catalog, pg_temp
as $$
begin
  if name is null or name !~ '\S' then
    perform app_hidden.raise_error('INVALID_NAME', 'A name is required.', 400);
  end if;
  if length(name) > 200 then
    perform app_hidden.raise_error('INVALID_NAME', 'The name is longer than 200 characters.', 400);
  end if;
  if phone is not null and phone !~ '^\+?[0-9]{8,15}$' then
    perform app_hidden.raise_error('INVALID_PHONE', 'The phone number must be 8 to 15 digits, optionally starting with +.', 400);
  end if;
end;
$$;
comment on function app_private.validate_profile(text, text) is E'Checks a user''s name and phone as users'' CHECK constraints do, with INVALID_NAME / INVALID_PHONE (400).';

create function api.register(email text, password text, name text, phone text default null) returns json
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
comment on function api.register(text, text, text, text) is
  E'Creates a client account and signs it in: returns {token, user}. Errors: INVALID_EMAIL, WEAK_PASSWORD, INVALID_NAME, INVALID_PHONE (400), EMAIL_TAKEN (409), RATE_LIMITED (429).';

create function api.login(email text, password text) returns json
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

create function api.logout() returns json
  language plpgsql volatile security definer
  set search_path to pg_catalog, pg_temp
as $$
declare
  claims jsonb := app_hidden.jwt_claims();
  token_id uuid;
begin
  perform app_hidden.require_user_id();
  if coalesce(claims ->> 'jti', '') !~* '^[0-9a-f-]{36}$' then
    perform app_hidden.raise_error('NOT_AUTHENTICATED', 'Sign in first.', 401);
  end if;
  token_id := (claims ->> 'jti')::uuid;
  insert into app_private.revoked_tokens (jti, user_id, expires_at)
  values (token_id, app_hidden.current_user_id(), to_timestamp((claims ->> 'exp')::double precision))
  on conflict (jti) do nothing;
  delete from app_private.revoked_tokens where expires_at < now() - interval '1 day';
  perform app_private.write_audit('LOGOUT', 'users', app_hidden.current_user_id()::text, null, null);
  return json_build_object('revoked', true);
end;
$$;
comment on function api.logout() is E'Revokes the token of this request (it is refused from now on). Error: NOT_AUTHENTICATED (401).';

create function api.me() returns api.users
  language plpgsql stable security definer
  set search_path to pg_catalog, pg_temp
as $$
declare
  u api.users;
begin
  perform app_hidden.require_user_id();
  select * into u from api.users where id = app_hidden.current_user_id();
  return u;
end;
$$;
comment on function api.me() is E'The signed-in user (only ever the caller''s own row). Error: NOT_AUTHENTICATED (401).';

create function app_hidden.pre_request() returns void
  language plpgsql stable security definer
  set search_path to pg_catalog, pg_temp
as $$
declare
  -- Runs on every request: the claims are parsed once and the account and
  -- the revocation list are read in one indexed query.
  claims jsonb := coalesce(nullif(current_setting('request.jwt.claims', true), '')::jsonb, '{}'::jsonb);
  token_role text := claims ->> 'role';
  token_sub text := claims ->> 'sub';
  token_jti text := claims ->> 'jti';
  user_role api.user_role;
  revoked boolean;
begin
  -- Anonymous requests carry {"role": "web_anon"} (PostgREST's anon role).
  if token_role is null or token_role = 'web_anon' then
    return;
  end if;
  if token_role not in ('app_client', 'app_admin') then
    perform app_hidden.raise_error('TOKEN_INVALID', 'This token''s role is not accepted.', 401);
  end if;
  if token_sub is null or token_sub !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
    perform app_hidden.raise_error('TOKEN_INVALID', 'This token names no user.', 401);
  end if;
  if token_jti is null or token_jti !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
    perform app_hidden.raise_error('TOKEN_INVALID', 'This token has no id.', 401);
  end if;
  select u.role, exists (select 1 from app_private.revoked_tokens r where r.jti = token_jti::uuid)
    into user_role, revoked
    from api.users u where u.id = token_sub::uuid;
  if not found then
    perform app_hidden.raise_error('TOKEN_INVALID', 'The account of this token no longer exists.', 401);
  end if;
  if revoked then
    perform app_hidden.raise_error('TOKEN_REVOKED', 'This token was signed out; sign in again.', 401);
  end if;
  if (user_role = 'admin') <> (token_role = 'app_admin') then
    perform app_hidden.raise_error('TOKEN_INVALID', 'The account''s role changed; sign in again.', 401);
  end if;
end;
$$;
comment on function app_hidden.pre_request() is
  E'PostgREST db-pre-request hook: refuses revoked tokens, tokens of deleted users and tokens whose role no longer matches the account (401). Read-only, so it works in GET requests.';

revoke execute on function app_hidden.pre_request() from public;
grant execute on function app_hidden.pre_request() to web_anon, app_client, app_admin;
grant execute on function api.register(text, text, text, text), api.login(text, text) to web_anon, app_client, app_admin;
grant execute on function api.logout(), api.me() to app_client, app_admin;

create function app_private.require_admin() returns void
  language plpgsql stable
  set search_path to pg_catalog, pg_temp
as $$
begin
  perform app_hidden.require_user_id();
  if not app_hidden.current_user_is_admin() then
    perform app_hidden.raise_error('FORBIDDEN', 'Only admins may do this.', 403);
  end if;
end;
$$;
comment on function app_private.require_admin() is E'NOT_AUTHENTICATED (401) or FORBIDDEN (403) unless the caller is an admin.';

create function api.set_user_role(user_id uuid, role text) returns api.users
  language plpgsql volatile security definer
  set search_path to pg_catalog, pg_temp
as $$
declare
  target api.users;
begin
  perform app_private.require_admin();
  perform app_private.enforce_user_rate_limit('admin_action');
  if role is null or role not in ('admin', 'client') then
    perform app_hidden.raise_error('INVALID_ROLE', 'The role must be admin or client.', 400);
  end if;
  if user_id is null then
    perform app_hidden.raise_error('INVALID_INPUT', 'user_id is required.', 400);
  end if;
  if user_id = app_hidden.current_user_id() then
    perform app_hidden.raise_error('CANNOT_CHANGE_OWN_ROLE', 'Admins cannot change their own role; ask another admin.', 409);
  end if;
  update api.users u set role = set_user_role.role::api.user_role where u.id = set_user_role.user_id returning * into target;
  if not found then
    perform app_hidden.raise_error('USER_NOT_FOUND', 'There is no such user.', 404);
  end if;
  return target;
end;
$$;
comment on function api.set_user_role(uuid, text) is
  E'Admin only: makes a user admin or client (audited as ROLE_CHANGE; the user''s existing tokens stop working). Errors: FORBIDDEN (403), INVALID_ROLE (400), CANNOT_CHANGE_OWN_ROLE (409), USER_NOT_FOUND (404), RATE_LIMITED (429).';
grant execute on function api.set_user_role(uuid, text) to app_client, app_admin;
