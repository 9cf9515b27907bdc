--! Previous: sha1:def505c9a14a45ea8a0d5e3975b98a0c967c392e
--! Hash: sha1:ec9b292952b8ad2247df706ca72498b835bc0abd
--! Message: admin reporting

-- Reporting months and days are Jakarta's (WIB, UTC+7): an invoice paid at
-- 23:30 on the 31st in Jakarta belongs to that month, not the next.

create function api.admin_dashboard() returns json
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
  perform app_private.require_admin();

  select json_build_object(
           'total', count(*),
           'by_role', json_build_object('admin', count(*) filter (where role = 'admin'),
                                        'client', count(*) filter (where role = 'client')))
    into users_json from api.users;

  select json_build_object(
           'total', count(*),
           'by_status', json_build_object(
              'pending_payment', count(*) filter (where status = 'pending_payment'),
              'in_progress', count(*) filter (where status = 'in_progress'),
              'review', count(*) filter (where status = 'review'),
              'completed', count(*) filter (where status = 'completed')),
           'by_type', json_build_object(
              'sekolah', count(*) filter (where type = 'sekolah'),
              'berita', count(*) filter (where type = 'berita'),
              'company', count(*) filter (where type = 'company')))
    into projects_json from api.projects;

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
    'latest_payments', coalesce((
      select json_agg(x) from (
        select i.id, i.project_id, i.amount, i.status, i.paid_at, i.midtrans_order_id
          from api.invoices i where i.status = 'paid'
         order by i.paid_at desc limit 10) x), '[]'::json));
end;
$$;
comment on function api.admin_dashboard() is
  E'Admin only: one JSON document with users by role, projects by status and type, invoices by status (count and amount), revenue this month and last month (paid and partially refunded invoices by paid_at, Jakarta months, IDR), the latest 10 projects (with owner email) and the latest 10 payments. Errors: NOT_AUTHENTICATED (401), FORBIDDEN (403).';

create function api.bi_revenue("from" date, "to" date, bucket text default 'day')
  returns table (bucket_start date, revenue numeric, paid_invoices bigint, new_projects bigint)
  language plpgsql stable security definer
  set search_path to pg_catalog, pg_temp
as $$
declare
  step interval;
  first_bucket date;
  last_bucket date;
begin
  perform app_private.require_admin();
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
comment on function api.bi_revenue(date, date, text) is
  E'Admin only: per day, week (ISO, from Monday) or month between from and to (inclusive, Jakarta time): revenue (paid and partially refunded invoices by paid_at, IDR), paid invoice count and new projects; buckets with nothing are zeros. Errors: NOT_AUTHENTICATED (401), FORBIDDEN (403), INVALID_BUCKET, INVALID_DATE_RANGE, RANGE_TOO_LARGE (400).';

grant execute on function api.admin_dashboard(), api.bi_revenue(date, date, text) to app_client, app_admin;
