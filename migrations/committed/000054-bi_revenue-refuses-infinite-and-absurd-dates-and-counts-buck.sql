--! Previous: sha1:614bfe080a3869488d4a7a3cea53355b548c1fc1
--! Hash: sha1:c4a9a5c387e0f69644975376035a084101534634
--! Message: bi_revenue refuses infinite and absurd dates and counts buckets by arithmetic

-- bi_revenue refuses infinite and absurd dates at once and counts its
-- buckets by arithmetic.
--
-- Before: from=infinity (or -infinity) made the bucket check run
-- generate_series over an infinite range (it never ended and filled the disk
-- with temporary files), and 0001-01-01..9999-12-31 generated three million
-- days before answering RANGE_TOO_LARGE. Now both dates must be finite and
-- within 2000-01-01..2099-12-31 (the business has no revenue before 2000;
-- a report reaching past 2099 is a typo), else INVALID_DATE_RANGE; the number
-- of buckets is computed from the two bucket starts (days apart, weeks apart,
-- months apart), and the series is generated only once it is known to hold
-- at most 1000 buckets. Answers for valid ranges are unchanged.

create or replace function api.bi_revenue("from" date, "to" date, bucket text default 'day')
  returns table (bucket_start date, revenue numeric, paid_invoices bigint, new_projects bigint)
  language plpgsql stable security invoker
  set search_path to pg_catalog, pg_temp
as $$
declare
  step interval;
  first_bucket date;
  last_bucket date;
  bucket_count bigint;
begin
  perform app_hidden.require_admin();
  if bucket is null or bucket not in ('day', 'week', 'month') then
    perform app_hidden.raise_error('INVALID_BUCKET', 'The bucket must be day, week or month.', 400);
  end if;
  if "from" is null or "to" is null or "from" > "to"
     or not isfinite("from") or not isfinite("to")
     or "from" < date '2000-01-01' or "to" > date '2099-12-31' then
    perform app_hidden.raise_error('INVALID_DATE_RANGE',
      'Give from and to dates between 2000-01-01 and 2099-12-31 with from on or before to.', 400);
  end if;
  step := ('1 ' || bucket)::interval;
  first_bucket := date_trunc(bucket, "from"::timestamp)::date;
  last_bucket := date_trunc(bucket, "to"::timestamp)::date;
  bucket_count := case bucket
    when 'day' then last_bucket - first_bucket + 1
    when 'week' then (last_bucket - first_bucket) / 7 + 1
    else (extract(year from last_bucket) - extract(year from first_bucket)) * 12
         + extract(month from last_bucket) - extract(month from first_bucket) + 1
  end;
  if bucket_count > 1000 then
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
  'Admin only: per day, week (ISO, from Monday) or month between from and to (inclusive, Jakarta time; both between 2000-01-01 and 2099-12-31, at most 1000 buckets): revenue (paid and partially refunded invoices by paid_at, IDR), paid invoice count and new projects; buckets with nothing are zeros. Errors: NOT_AUTHENTICATED (401), FORBIDDEN (403), INVALID_BUCKET, INVALID_DATE_RANGE, RANGE_TOO_LARGE (400).';
