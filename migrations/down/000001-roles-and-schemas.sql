drop schema app_private;
drop schema api;
alter default privileges grant execute on functions to public;

-- The roles are left in place on purpose: roles are cluster-wide, shared by
-- every database of the cluster (other JasaWeb databases, test databases
-- cloned from a template), and PostgREST's authenticator connects to all of
-- them. Dropping them here would break those databases. They own nothing
-- and hold no privilege in this database any more; drop them by hand once no
-- database uses them:
--   drop role authenticator, app_worker, app_admin, app_client, web_anon;
