--! Previous: sha1:cfdab242e0a5a7f6881f6117605713d84588c3b4
--! Hash: sha1:4461a6119af095d0182305fc885822fdf7d9d2d6
--! Message: realtime hub: token and project room checks

-- Work in progress for the next migration (graphile-migrate `watch` applies it
-- on save; `npm run gm -- commit --message "..."` commits it). Write its down
-- script in migrations/down/ under the committed file's name.

-- The WebSocket hub's checks in the database. The hub (in the worker
-- process, connected as app_worker) verifies a token's signature and expiry
-- itself (jose); what only the database knows — whether the account still
-- exists, whether the token was signed out, whether the account's role
-- still matches the token's — it asks here, the way app_hidden.pre_request
-- does for PostgREST. And whether a user may join a project's room.

create function app_hidden.realtime_token_status(token_sub uuid, token_jti uuid, token_role text) returns text
  language plpgsql stable security definer
  set search_path to pg_catalog, pg_temp
as $$
declare
  user_role api.user_role;
  revoked boolean;
begin
  if token_sub is null or token_jti is null or token_role is null then
    perform app_hidden.raise_error('INVALID_INPUT', 'token_sub, token_jti and token_role are required.', 400);
  end if;
  if token_role not in ('app_client', 'app_admin') then
    return 'foreign_role';
  end if;
  select u.role, exists (select 1 from app_private.revoked_tokens r where r.jti = token_jti)
    into user_role, revoked
    from api.users u where u.id = token_sub;
  if not found then
    return 'unknown_user';
  end if;
  if revoked then
    return 'revoked';
  end if;
  if (user_role = 'admin') <> (token_role = 'app_admin') then
    return 'stale_role';
  end if;
  return 'valid';
end;
$$;
comment on function app_hidden.realtime_token_status(uuid, uuid, text) is
  E'The WebSocket hub''s database check of a token whose signature and expiry it has verified: ''valid'', ''foreign_role'' (not app_client or app_admin), ''unknown_user'' (the account no longer exists), ''revoked'' (signed out: its jti is in app_private.revoked_tokens) or ''stale_role'' (the account''s role no longer matches the token''s), the same rules as app_hidden.pre_request. SECURITY DEFINER because users and revoked tokens are not the worker''s to read; EXECUTE is granted to app_worker alone.';
revoke execute on function app_hidden.realtime_token_status(uuid, uuid, text) from public;
grant execute on function app_hidden.realtime_token_status(uuid, uuid, text) to app_worker;

create function app_hidden.realtime_may_join_project(user_id uuid, project_id uuid) returns boolean
  language sql stable security definer
  set search_path to pg_catalog, pg_temp
as $$
  select exists (select 1 from api.users u where u.id = realtime_may_join_project.user_id and u.role = 'admin')
      or exists (select 1 from api.projects p
                  where p.id = realtime_may_join_project.project_id and p.user_id = realtime_may_join_project.user_id);
$$;
comment on function app_hidden.realtime_may_join_project(uuid, uuid) is
  E'Whether the WebSocket hub lets user_id join the room project:<project_id>: true for the project''s owner and for any admin, false otherwise (also for a project that does not exist, so a client learns nothing about other users'' projects). SECURITY DEFINER because users are not the worker''s to read; EXECUTE is granted to app_worker alone.';
revoke execute on function app_hidden.realtime_may_join_project(uuid, uuid) from public;
grant execute on function app_hidden.realtime_may_join_project(uuid, uuid) to app_worker;
