--! Previous: sha1:6c0d1c8598c3f67ef06f97d0332495d04660f15a
--! Hash: sha1:8d85c837d5b039fb62cda11d98c6ad72790b5e9e
--! Message: tokens without exp refused by the pre-request hook

-- Work in progress for the next migration (graphile-migrate `watch` applies it
-- on save; `npm run gm -- commit --message "..."` commits it). Write its down
-- script in migrations/down/ under the committed file's name.

-- Every token must expire. PostgREST checks exp only when a token has one,
-- so a correctly signed token without exp (or with "exp": null) was
-- accepted for ever. The pre-request hook now refuses any token without a
-- numeric exp with 401 TOKEN_INVALID, before it reads anything else.
-- Anonymous requests (no token: the claims are PostgREST's {"role":
-- "web_anon"} and nothing else) pass as before.

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
  -- Anonymous requests carry {"role": "web_anon"} (PostgREST's anon role)
  -- and no other claim.
  if (claims - 'role') = '{}'::jsonb and (token_role is null or token_role = 'web_anon') then
    return;
  end if;
  -- A token: it must expire (PostgREST refuses an expired exp, but accepts
  -- a token without one).
  if jsonb_typeof(claims -> 'exp') is distinct from 'number' then
    perform app_hidden.raise_error('TOKEN_INVALID', 'This token has no expiry (exp); sign in again.', 401);
  end if;
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
comment on function app_hidden.pre_request() is
  E'PostgREST db-pre-request hook: refuses tokens without a numeric exp (PostgREST checks exp only when present), revoked tokens, tokens of deleted users and tokens whose role no longer matches the account (401). Read-only, so it works in GET requests.';
