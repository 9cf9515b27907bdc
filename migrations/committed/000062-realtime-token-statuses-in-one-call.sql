--! Previous: sha1:35bc3cd0ed82a5a42f7e6e20728ef15e45f6ecaf
--! Hash: sha1:7cbc27c09825b416a7ae2474e5c7b7a0db549861
--! Message: realtime token statuses in one call

-- Work in progress for the next migration (graphile-migrate `watch` applies it
-- on save; `npm run gm -- commit --message "..."` commits it). Write its down
-- script in migrations/down/ under the committed file's name.

-- The WebSocket hub re-checks the token of every open socket periodically (as
-- PostgREST's pre-request hook checks every request), in one query for all the
-- sockets of a hub: the status of many tokens at once. The rules are written
-- once, here; app_hidden.realtime_token_status (one token, at the upgrade and
-- on an auth frame) now asks this function.

create function app_hidden.realtime_token_statuses(tokens jsonb) returns table (jti uuid, status text)
  language plpgsql stable security definer
  set search_path to pg_catalog, pg_temp
as $$
begin
  if tokens is null or jsonb_typeof(tokens) <> 'array' then
    perform app_hidden.raise_error('INVALID_INPUT', 'tokens must be an array of {sub, jti, role}.', 400);
  end if;
  if exists (select 1 from jsonb_to_recordset(tokens) as t(sub uuid, jti uuid, role text)
              where t.sub is null or t.jti is null or t.role is null) then
    perform app_hidden.raise_error('INVALID_INPUT', 'Every token needs sub, jti and role.', 400);
  end if;
  return query
  select t.jti,
         case
           when t.role not in ('app_client', 'app_admin') then 'foreign_role'
           when u.id is null then 'unknown_user'
           when exists (select 1 from app_private.revoked_tokens r where r.jti = t.jti) then 'revoked'
           when (u.role = 'admin') <> (t.role = 'app_admin') then 'stale_role'
           else 'valid'
         end
    from jsonb_to_recordset(tokens) as t(sub uuid, jti uuid, role text)
    left join api.users u on u.id = t.sub;
end;
$$;
comment on function app_hidden.realtime_token_statuses(jsonb) is
  E'The WebSocket hub''s database check of many tokens at once (the periodic re-check of its open sockets, one call for all of them): tokens is [{sub, jti, role}] of tokens whose signature and expiry the hub has verified; one row {jti, status} per entry, status being ''valid'', ''foreign_role'' (not app_client or app_admin), ''unknown_user'' (the account no longer exists), ''revoked'' (signed out: its jti is in app_private.revoked_tokens) or ''stale_role'' (the account''s role no longer matches the token''s), the same rules as app_hidden.pre_request. INVALID_INPUT when tokens is not an array or an entry lacks sub, jti or role. SECURITY DEFINER because users and revoked tokens are not the worker''s to read; EXECUTE is granted to app_worker alone.';
revoke execute on function app_hidden.realtime_token_statuses(jsonb) from public;
grant execute on function app_hidden.realtime_token_statuses(jsonb) to app_worker;

create or replace function app_hidden.realtime_token_status(token_sub uuid, token_jti uuid, token_role text) returns text
  language plpgsql stable security definer
  set search_path to pg_catalog, pg_temp
as $$
begin
  if token_sub is null or token_jti is null or token_role is null then
    perform app_hidden.raise_error('INVALID_INPUT', 'token_sub, token_jti and token_role are required.', 400);
  end if;
  return (select s.status
            from app_hidden.realtime_token_statuses(
                   jsonb_build_array(jsonb_build_object('sub', token_sub, 'jti', token_jti, 'role', token_role))) s);
end;
$$;
