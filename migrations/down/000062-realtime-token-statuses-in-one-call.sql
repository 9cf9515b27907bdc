-- app_hidden.realtime_token_status checks one token by itself again (as in
-- 000049), and the batch check is gone.
create or replace function app_hidden.realtime_token_status(token_sub uuid, token_jti uuid, token_role text) returns text
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

drop function app_hidden.realtime_token_statuses(jsonb);
