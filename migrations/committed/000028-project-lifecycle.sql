--! Previous: sha1:b7297da9c9613d82ea57349093686fab367cf336
--! Hash: sha1:def505c9a14a45ea8a0d5e3975b98a0c967c392e
--! Message: project lifecycle

create function app_private.tg_projects__check_status_transition() returns trigger
  language plpgsql
  set search_path to pg_catalog, pg_temp
as $$
begin
  if new.status = old.status then
    return new;
  end if;
  if (old.status, new.status) in (('in_progress', 'review'), ('review', 'in_progress'), ('review', 'completed')) then
    return new;
  end if;
  if old.status = 'pending_payment' and new.status = 'in_progress' then
    if exists (select 1 from api.invoices where project_id = new.id and status = 'paid') then
      return new;
    end if;
    perform app_hidden.raise_error('ILLEGAL_TRANSITION', 'A project starts only once its invoice is paid.', 409,
      format('from %s to %s', old.status, new.status));
  end if;
  perform app_hidden.raise_error('ILLEGAL_TRANSITION', format('A project cannot go from %s to %s.', old.status, new.status), 409,
    format('from %s to %s', old.status, new.status));
  return null;
end;
$$;
comment on function app_private.tg_projects__check_status_transition() is
  E'Project life cycle, enforced for every path (RPC, PATCH, worker): pending_payment → in_progress (only with a paid invoice), in_progress ⇄ review, review → completed. Anything else: ILLEGAL_TRANSITION (409).';

create trigger _200_status_transition before update of status on api.projects
  for each row execute function app_private.tg_projects__check_status_transition();

create function app_private.visible_project(project_id uuid) returns api.projects
  language plpgsql stable
  set search_path to pg_catalog, pg_temp
as $$
declare
  p api.projects;
begin
  perform app_hidden.require_user_id();
  if project_id is null then
    perform app_hidden.raise_error('INVALID_INPUT', 'project_id is required.', 400);
  end if;
  select * into p from api.projects where id = project_id;
  -- Someone else's project answers exactly like a missing one.
  if not found or (p.user_id <> app_hidden.current_user_id() and not app_hidden.current_user_is_admin()) then
    perform app_hidden.raise_error('PROJECT_NOT_FOUND', 'There is no such project.', 404);
  end if;
  return p;
end;
$$;
comment on function app_private.visible_project(uuid) is
  E'The project if the caller owns it or is an admin; otherwise NOT_AUTHENTICATED (401) or PROJECT_NOT_FOUND (404), never revealing whether it exists.';

create function api.create_project(name text, type text) returns json
  language plpgsql volatile security definer
  set search_path to pg_catalog, pg_temp
as $$
declare
  clean_name text := btrim(name);
  plan api.pricing_plans;
  new_project api.projects;
  new_invoice api.invoices;
begin
  perform app_hidden.require_user_id();
  if clean_name is null or clean_name !~ '\S' or length(clean_name) > 200 then
    perform app_hidden.raise_error('INVALID_NAME', 'The project name must have 1 to 200 characters.', 400);
  end if;
  if type is null or type not in ('sekolah', 'berita', 'company') then
    perform app_hidden.raise_error('INVALID_PROJECT_TYPE', 'The type must be sekolah, berita or company.', 400);
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

create function api.cancel_project(project_id uuid) returns json
  language plpgsql volatile security definer
  set search_path to pg_catalog, pg_temp
as $$
declare
  p api.projects := app_private.visible_project(project_id);
begin
  if p.status <> 'pending_payment'
     or exists (select 1 from api.invoices i where i.project_id = p.id
                 and i.status in ('paid', 'pending', 'refunded', 'partial_refunded')) then
    perform app_hidden.raise_error('PROJECT_NOT_CANCELLABLE',
      'Only an unpaid project with no payment in progress can be cancelled.', 409, format('status %s', p.status));
  end if;
  delete from api.projects where id = p.id;
  return json_build_object('project', row_to_json(p), 'cancelled', true);
end;
$$;
comment on function api.cancel_project(uuid) is
  E'Cancels an unpaid order (owner or admin). The blueprint''s project status has no cancelled state, so the project and its unpaid invoices are deleted; the audit log keeps their last state. Errors: NOT_AUTHENTICATED (401), PROJECT_NOT_FOUND (404), PROJECT_NOT_CANCELLABLE (409: paid, payment pending, or work started).';

create function api.set_project_status(project_id uuid, status text) returns api.projects
  language plpgsql volatile security definer
  set search_path to pg_catalog, pg_temp
as $$
declare
  p api.projects;
begin
  perform app_private.require_admin();
  perform app_private.enforce_user_rate_limit('admin_action');
  if status is null or status not in ('pending_payment', 'in_progress', 'review', 'completed') then
    perform app_hidden.raise_error('INVALID_STATUS', 'The status must be pending_payment, in_progress, review or completed.', 400);
  end if;
  update api.projects pr set status = set_project_status.status::api.project_status
   where pr.id = set_project_status.project_id returning * into p;
  if not found then
    perform app_hidden.raise_error('PROJECT_NOT_FOUND', 'There is no such project.', 404);
  end if;
  return p;
end;
$$;
comment on function api.set_project_status(uuid, text) is
  E'Admin only: moves a project along its life cycle (see the _200_status_transition trigger). Errors: FORBIDDEN (403), INVALID_STATUS (400), PROJECT_NOT_FOUND (404), ILLEGAL_TRANSITION (409), RATE_LIMITED (429).';

grant execute on function api.create_project(text, text), api.cancel_project(uuid), api.set_project_status(uuid, text)
  to app_client, app_admin;
