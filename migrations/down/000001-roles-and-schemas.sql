drop schema app_private;
drop schema api;
alter default privileges grant execute on functions to public;

-- Roles are shared by every database of the cluster: drop each only when no
-- other database still uses it, otherwise leave it (it is harmless unused).
-- authenticator may own nothing and hold no grant, so nothing would stop its
-- drop even while another database's PostgREST logs in as it (its open
-- connections could no longer SET ROLE, new ones could not log in): it goes
-- only once the roles it switches to are gone from the whole cluster.
do $$
declare
  role_name text;
begin
  foreach role_name in array array['app_worker', 'app_admin', 'app_client', 'web_anon'] loop
    if exists (select 1 from pg_roles where rolname = role_name) then
      begin
        execute format('drop role %I', role_name);
      exception when dependent_objects_still_exist or object_in_use then
        raise notice 'role % is still used elsewhere in the cluster; kept', role_name;
      end;
    end if;
  end loop;
  if exists (select 1 from pg_roles where rolname = 'authenticator') then
    if exists (select 1 from pg_roles where rolname in ('web_anon', 'app_client', 'app_admin')) then
      raise notice 'role authenticator is still needed by the API roles of another database; kept';
    else
      begin
        drop role authenticator;
      exception when dependent_objects_still_exist or object_in_use then
        raise notice 'role authenticator is still used elsewhere in the cluster; kept';
      end;
    end if;
  end if;
end
$$;
