-- bi_revenue as 000034 made it and 000035 left it (SECURITY INVOKER): the bucket
-- count from generate_series, no bounds on the dates.
create or replace function api.bi_revenue("from" date, "to" date, bucket text default 'day')
  returns table (bucket_start date, revenue numeric, paid_invoices bigint, new_projects bigint)
  language plpgsql stable security invoker
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

comment on function api.bi_revenue(date, date, text) is
  E'Admin only: per day, week (ISO, from Monday) or month between from and to (inclusive, Jakarta time): revenue (paid and partially refunded invoices by paid_at, IDR), paid invoice count and new projects; buckets with nothing are zeros. Errors: NOT_AUTHENTICATED (401), FORBIDDEN (403), INVALID_BUCKET, INVALID_DATE_RANGE, RANGE_TOO_LARGE (400).';
