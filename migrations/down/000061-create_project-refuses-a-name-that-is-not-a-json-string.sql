-- create_project(name text, type text) as migrations 000028 and 000034 left it.
drop function api.create_project(json, text);

create function api.create_project(name text, type text) returns json
  language plpgsql volatile security definer
  set search_path to pg_catalog, pg_temp
as $$
declare
  clean_name text := btrim(name);
  types text[] := enum_range(null::api.project_type)::text[];
  plan api.pricing_plans;
  new_project api.projects;
  new_invoice api.invoices;
begin
  perform app_hidden.require_user_id();
  if clean_name is null or not app_hidden.is_not_blank(clean_name, 200) then
    perform app_hidden.raise_error('INVALID_NAME', 'The project name must have 1 to 200 characters.', 400);
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
comment on function api.create_project(text, text) is
  E'Orders a website: creates the project (pending_payment) and its invoice (the price of the active pricing plan whose identifier is the type) in one transaction; returns {project, invoice}. Errors: NOT_AUTHENTICATED (401), INVALID_NAME, INVALID_PROJECT_TYPE (400), PLAN_UNAVAILABLE (409), RATE_LIMITED (429).';
grant execute on function api.create_project(text, text) to app_client, app_admin;
