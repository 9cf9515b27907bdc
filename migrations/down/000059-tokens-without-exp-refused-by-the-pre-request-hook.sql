-- The pre-request hook as migration 000033 left it (tokens without exp accepted).
comment on function app_hidden.pre_request() is
  E'PostgREST db-pre-request hook: refuses revoked tokens, tokens of deleted users and tokens whose role no longer matches the account (401). Read-only, so it works in GET requests.';
create or replace function app_hidden.pre_request() returns void
  language plpgsql stable security definer
  set search_path to pg_catalog, pg_temp
as $$
declare
  -- Runs on every request: the claims are parsed once and the account and
  -- the revocation list are read in one indexed query.
  claims jsonb := coalesce(nullif(current_setting('request.jwt.claims', true), '')::jsonb, '{}'::jsonb);
  token_role text := claims ->> 'role';
  token_sub uuid := app_hidden.try_uuid(claims ->> 'sub');
  token_jti uuid := app_hidden.try_uuid(claims ->> 'jti');
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
  if token_sub is null then
    perform app_hidden.raise_error('TOKEN_INVALID', 'This token names no user.', 401);
  end if;
  if token_jti is null then
    perform app_hidden.raise_error('TOKEN_INVALID', 'This token has no id.', 401);
  end if;
  select u.role, exists (select 1 from app_private.revoked_tokens r where r.jti = token_jti)
    into user_role, revoked
    from api.users u where u.id = token_sub;
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
