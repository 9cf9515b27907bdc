--! Previous: sha1:8c1999692bf75a1821ef2b66614355440122411f
--! Hash: sha1:35bc3cd0ed82a5a42f7e6e20728ef15e45f6ecaf
--! Message: create_project refuses a name that is not a JSON string

-- Work in progress for the next migration (graphile-migrate `watch` applies it
-- on save; `npm run gm -- commit --message "..."` commits it). Write its down
-- script in migrations/down/ under the committed file's name.

-- create_project refuses a name that is not a JSON string. PostgREST reads
-- the body into the function's parameters with json_to_record, which turns
-- any JSON value into text for a text parameter: {"name": 123} made a
-- project named "123" and {"name": ["a"]} one named ["a"], and the function
-- could not tell them from the strings "123" and "[\"a\"]". The name
-- parameter is now json, so the function sees the value as sent and refuses
-- anything but a string with INVALID_NAME (400). Callers send the same body
-- as before ({"name": "…", "type": "…"}). A non-string type was already
-- refused (INVALID_PROJECT_TYPE: its text is not a project type).
-- What the database cannot see: an array body ([{…}, {…}]) reaches a
-- function with named parameters as its first element only (PostgREST
-- drops the rest); the API edge refuses array bodies (README).
-- A parameter's type is part of the function's identity, so the function
-- is dropped and created again, with its grants.

drop function api.create_project(text, text);

create function api.create_project(name json, type text) returns json
  language plpgsql volatile security definer
  set search_path to pg_catalog, pg_temp
as $$
declare
  clean_name text := btrim(name #>> '{}');
  types text[] := enum_range(null::api.project_type)::text[];
  plan api.pricing_plans;
  new_project api.projects;
  new_invoice api.invoices;
begin
  perform app_hidden.require_user_id();
  if name is null or json_typeof(name) <> 'string' then
    perform app_hidden.raise_error('INVALID_NAME', 'The project name must be a JSON string.', 400);
  end if;
  if not app_hidden.is_not_blank(clean_name) then
    perform app_hidden.raise_error('INVALID_NAME', 'The project name must not be blank.', 400);
  end if;
  if length(clean_name) > 200 then
    perform app_hidden.raise_error('INVALID_NAME', 'The project name must be at most 200 characters.', 400);
  end if;
  if type is null or type <> all (types) then
    perform app_hidden.raise_error('INVALID_PROJECT_TYPE', format('The type must be %s.', app_hidden.or_list(types)), 400);
  end if;
  perform app_private.enforce_user_rate_limit('create_project');
  select * into plan from api.pricing_plans where identifier = type and is_active;
  if not found then
    perform app_hidden.raise_error('PLAN_UNAVAILABLE', format('No active pricing plan for %s websites.', type), 409);
  end if;
  insert into api.projects (user_id, name, type) values (app_hidden.current_user_id(), clean_name, type::api.project_type)
    returning * into new_project;
  insert into api.invoices (project_id, amount) values (new_project.id, plan.price) returning * into new_invoice;
  return json_build_object('project', row_to_json(new_project), 'invoice', row_to_json(new_invoice));
end;
$$;
comment on function api.create_project(json, text) is
  E'Orders a website: creates the project (pending_payment) and its invoice (the price of the active pricing plan whose identifier is the type) in one transaction; returns {project, invoice}. The body is {"name": "<1 to 200 characters>", "type": "<project type>"}; name is a json parameter so that a name sent as a number, array, object or boolean is refused instead of turned into its text. Errors: NOT_AUTHENTICATED (401), INVALID_NAME, INVALID_PROJECT_TYPE (400), PLAN_UNAVAILABLE (409), RATE_LIMITED (429).';
grant execute on function api.create_project(json, text) to app_client, app_admin;
