--! Previous: sha1:773eb887da0fe852ea041938b555b413454ee767
--! Hash: sha1:23bb2fc5a3f11159b46a346f335951dd282ea293
--! Message: admin check and enum ranges

-- One admin check that every function can call, and enum checks that read
-- the enum instead of retyping its labels.
--
-- app_private.require_admin could only be called by SECURITY DEFINER code
-- (the API roles cannot use app_private); app_hidden.require_admin is the
-- same check where SECURITY INVOKER functions can call it too, and every
-- caller now uses it, so the old one goes.
--
-- create_project, set_project_status and set_user_role accepted exactly
-- the labels of api.project_type, api.project_status and api.user_role,
-- retyped; admin_dashboard listed them again as JSON keys. They now take
-- the labels from enum_range, in the enum's order, so a new label is
-- accepted, named in the error message and counted without editing them.

create function app_hidden.require_admin() returns void
  language plpgsql stable
  set search_path to pg_catalog, pg_temp
as $$
begin
  perform app_hidden.require_user_id();
  if not app_hidden.current_user_is_admin() then
    perform app_hidden.raise_error('FORBIDDEN', 'Only admins may do this.', 403);
  end if;
end;
$$;
comment on function app_hidden.require_admin() is
  E'NOT_AUTHENTICATED (401) or FORBIDDEN (403) unless the caller is an admin: the first line of every admin-only function. In app_hidden so that SECURITY INVOKER functions, which run as the API role, can call it as well as SECURITY DEFINER ones.';

create function app_hidden.or_list(items text[]) returns text
  language sql immutable parallel safe strict
  return (select string_agg(u.item, case when u.n = cardinality(items) then ' or ' else ', ' end order by u.n)
            from unnest(items) with ordinality as u(item, n));
comment on function app_hidden.or_list(text[]) is
  E'The items as an English list ("a, b or c") for error messages that name the accepted values, so that a message built from enum_range names every label the check accepts.';

revoke execute on function app_hidden.require_admin(), app_hidden.or_list(text[]) from public;
grant execute on function app_hidden.require_admin(), app_hidden.or_list(text[])
  to web_anon, app_client, app_admin, app_worker;

create or replace function api.set_user_role(user_id uuid, role text) returns api.users
  language plpgsql volatile security definer
  set search_path to pg_catalog, pg_temp
as $$
declare
  target api.users;
  roles text[] := enum_range(null::api.user_role)::text[];
begin
  perform app_hidden.require_admin();
  perform app_private.enforce_user_rate_limit('admin_action');
  if role is null or role <> all (roles) then
    perform app_hidden.raise_error('INVALID_ROLE', format('The role must be %s.', app_hidden.or_list(roles)), 400);
  end if;
  if user_id is null then
    perform app_hidden.raise_error('INVALID_INPUT', 'user_id is required.', 400);
  end if;
  if user_id = app_hidden.current_user_id() then
    perform app_hidden.raise_error('CANNOT_CHANGE_OWN_ROLE', 'Admins cannot change their own role; ask another admin.', 409);
  end if;
  update api.users u set role = set_user_role.role::api.user_role where u.id = set_user_role.user_id returning * into target;
  if not found then
    perform app_hidden.raise_error('USER_NOT_FOUND', 'There is no such user.', 404);
  end if;
  return target;
end;
$$;

create or replace function api.create_project(name text, type text) returns json
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

create or replace function api.set_project_status(project_id uuid, status text) returns api.projects
  language plpgsql volatile security definer
  set search_path to pg_catalog, pg_temp
as $$
declare
  p api.projects;
  statuses text[] := enum_range(null::api.project_status)::text[];
begin
  perform app_hidden.require_admin();
  perform app_private.enforce_user_rate_limit('admin_action');
  if status is null or status <> all (statuses) then
    perform app_hidden.raise_error('INVALID_STATUS', format('The status must be %s.', app_hidden.or_list(statuses)), 400);
  end if;
  update api.projects pr set status = set_project_status.status::api.project_status
   where pr.id = set_project_status.project_id returning * into p;
  if not found then
    perform app_hidden.raise_error('PROJECT_NOT_FOUND', 'There is no such project.', 404);
  end if;
  return p;
end;
$$;

create or replace function api.admin_dashboard() returns json
  language plpgsql stable security definer
  set search_path to pg_catalog, pg_temp
as $$
declare
  month_start timestamptz := date_trunc('month', now() at time zone 'Asia/Jakarta') at time zone 'Asia/Jakarta';
  last_month_start timestamptz := (date_trunc('month', now() at time zone 'Asia/Jakarta') - interval '1 month') at time zone 'Asia/Jakarta';
  users_json json;
  projects_json json;
  invoices_json json;
  revenue_json json;
begin
  perform app_hidden.require_admin();

  -- Every label of an enum is a key, in the enum's order, with 0 when no
  -- row has it.
  select json_build_object(
           'total', coalesce(sum(g.n), 0),
           'by_role', json_object_agg(r.role, coalesce(g.n, 0) order by r.role))
    into users_json
    from unnest(enum_range(null::api.user_role)) r(role)
    left join (select u.role, count(*) as n from api.users u group by u.role) g on g.role = r.role;

  -- One pass over projects, counted by status and type together.
  with g as (
    select p.status, p.type, count(*) as n from api.projects p group by p.status, p.type
  )
  select json_build_object(
           'total', (select coalesce(sum(g.n), 0) from g),
           'by_status', (select json_object_agg(s.status, (select coalesce(sum(g.n), 0) from g where g.status = s.status) order by s.status)
                           from unnest(enum_range(null::api.project_status)) s(status)),
           'by_type', (select json_object_agg(t.type, (select coalesce(sum(g.n), 0) from g where g.type = t.type) order by t.type)
                         from unnest(enum_range(null::api.project_type)) t(type)))
    into projects_json;

  -- One pass over invoices: per-status counts and sums, and both months'
  -- revenue; statuses with no invoice are listed with zeros.
  select json_object_agg(s.status, json_build_object('count', coalesce(g.n, 0), 'amount', coalesce(g.amount, 0)) order by s.status),
         json_build_object('this_month', coalesce(sum(g.this_month), 0), 'last_month', coalesce(sum(g.last_month), 0), 'currency', 'IDR')
    into invoices_json, revenue_json
    from unnest(enum_range(null::api.invoice_status)) s(status)
    left join (
      select i.status, count(*) as n, sum(i.amount) as amount,
             sum(i.amount) filter (where i.status in ('paid', 'partial_refunded') and i.paid_at >= month_start) as this_month,
             sum(i.amount) filter (where i.status in ('paid', 'partial_refunded') and i.paid_at >= last_month_start and i.paid_at < month_start) as last_month
        from api.invoices i group by i.status) g on g.status = s.status;
  invoices_json := json_build_object('by_status', invoices_json);

  return json_build_object(
    'generated_at', now(),
    'users', users_json,
    'projects', projects_json,
    'invoices', invoices_json,
    'revenue', revenue_json,
    'latest_projects', coalesce((
      select json_agg(x) from (
        select p.id, p.name, p.type, p.status, p.created_at, u.email as owner_email
          from api.projects p join api.users u on u.id = p.user_id
         order by p.created_at desc limit 10) x), '[]'::json),
    -- Ordered by status too (one value here, so the same order): that is
    -- the order of invoices_status_paid_at_desc_idx, which then yields the
    -- 10 rows directly even under row-level security, where status = 'paid'
    -- (not leakproof) cannot stand in for the leading index column.
    'latest_payments', coalesce((
      select json_agg(x) from (
        select i.id, i.project_id, i.amount, i.status, i.paid_at, i.midtrans_order_id
          from api.invoices i where i.status = 'paid'
         order by i.status, i.paid_at desc limit 10) x), '[]'::json));
end;
$$;

create or replace function api.bi_revenue("from" date, "to" date, bucket text default 'day')
  returns table (bucket_start date, revenue numeric, paid_invoices bigint, new_projects bigint)
  language plpgsql stable security definer
  set search_path to pg_catalog, pg_temp
as $$
declare
  step interval;
  first_bucket date;
  last_bucket date;
begin
  perform app_hidden.require_admin();
  if bucket is null or bucket not in ('day', 'week', 'month') then
    perform app_hidden.raise_error('INVALID_BUCKET', 'The bucket must be day, week or month.', 400);
  end if;
  if "from" is null or "to" is null or "from" > "to" then
    perform app_hidden.raise_error('INVALID_DATE_RANGE', 'Give from and to dates with from on or before to.', 400);
  end if;
  step := ('1 ' || bucket)::interval;
  first_bucket := date_trunc(bucket, "from"::timestamp)::date;
  last_bucket := date_trunc(bucket, "to"::timestamp)::date;
  if (select count(*) from generate_series(first_bucket::timestamp, last_bucket::timestamp, step)) > 1000 then
    perform app_hidden.raise_error('RANGE_TOO_LARGE', 'At most 1000 buckets; choose a larger bucket or a shorter range.', 400);
  end if;
  return query
  with buckets as (
    select b::date as bucket_start from generate_series(first_bucket::timestamp, last_bucket::timestamp, step) b
  ),
  paid as (
    select date_trunc(bucket, i.paid_at at time zone 'Asia/Jakarta')::date as b, sum(i.amount) as revenue, count(*) as n
      from api.invoices i
     where i.status in ('paid', 'partial_refunded')
       and i.paid_at >= "from"::timestamp at time zone 'Asia/Jakarta'
       and i.paid_at < ("to" + 1)::timestamp at time zone 'Asia/Jakarta'
     group by 1
  ),
  created as (
    select date_trunc(bucket, p.created_at at time zone 'Asia/Jakarta')::date as b, count(*) as n
      from api.projects p
     where p.created_at >= "from"::timestamp at time zone 'Asia/Jakarta'
       and p.created_at < ("to" + 1)::timestamp at time zone 'Asia/Jakarta'
     group by 1
  )
  select k.bucket_start, coalesce(paid.revenue, 0), coalesce(paid.n, 0), coalesce(created.n, 0)
    from buckets k
    left join paid on paid.b = k.bucket_start
    left join created on created.b = k.bucket_start
   order by k.bucket_start;
end;
$$;

drop function app_private.require_admin();
