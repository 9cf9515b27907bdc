drop schema app_private;
drop schema api;
alter default privileges grant execute on functions to public;

-- Roles are shared by every database of the cluster: drop each only when no
-- other database still uses it, otherwise leave it (it is harmless unused).
do $$
declare
  role_name text;
begin
  foreach role_name in array array['authenticator', 'app_worker', 'app_admin', 'app_client', 'web_anon'] loop
    if exists (select 1 from pg_roles where rolname = role_name) then
      begin
        execute format('drop role %I', role_name);
      exception when dependent_objects_still_exist or object_in_use then
        raise notice 'role % is still used elsewhere in the cluster; kept', role_name;
      end;
    end if;
  end loop;
end
$$;
