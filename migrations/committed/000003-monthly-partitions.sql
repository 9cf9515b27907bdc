--! Previous: sha1:42208807d5aa0be23f47ed4bb07ba69eec40eeef
--! Hash: sha1:357519b2f9f06a9c5214258000e39b31a1b83597
--! Message: monthly partitions

-- Partitions of api tables live in app_private: PostgREST then never exposes
-- them, and they are reached only through their parent (and its RLS).

create function app_private.partition_name(parent regclass, month date) returns text
  language sql stable
  set search_path to pg_catalog, pg_temp
as $$
  select (select relname from pg_class where oid = parent) || '_p' || to_char(month, 'YYYYMM');
$$;
comment on function app_private.partition_name(regclass, date) is
  E'Name of the monthly partition of a table, e.g. audit_logs_p202611.';

create function app_private.create_monthly_partitions(
  parent regclass,
  months_ahead integer default 3,
  from_month date default current_date
) returns setof text
  language plpgsql
  set search_path to pg_catalog, pg_temp
  -- Bounds are UTC months whatever the caller's TimeZone, so partitions made
  -- by sessions in different zones never overlap or leave gaps.
  set timezone to 'UTC'
as $$
declare
  part_key text;
  default_part regclass;
  month date;
  part_name text;
  moved bigint;
begin
  if months_ahead < 0 or months_ahead > 120 then
    raise exception 'months_ahead must be between 0 and 120, got %', months_ahead;
  end if;
  select a.attname into part_key
    from pg_partitioned_table pt
    join pg_attribute a on a.attrelid = pt.partrelid and a.attnum = pt.partattrs[0]
   where pt.partrelid = parent;
  if part_key is null then
    raise exception '% is not a partitioned table', parent;
  end if;
  select i.inhrelid::regclass into default_part
    from pg_inherits i
    join pg_class c on c.oid = i.inhrelid
   where i.inhparent = parent and pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT';

  for i in 0 .. months_ahead loop
    month := (date_trunc('month', from_month) + make_interval(months => i))::date;
    part_name := app_private.partition_name(parent, month);
    continue when to_regclass(format('app_private.%I', part_name)) is not null;
    -- Built detached, filled with any rows the default partition caught for
    -- that month, then attached: no row is lost and none is refused.
    execute format('create table app_private.%I (like %s including defaults including constraints)', part_name, parent);
    if default_part is not null then
      execute format(
        'with moved as (delete from %s where %I >= %L and %I < %L returning *) insert into app_private.%I select * from moved',
        default_part, part_key, month, part_key, (month + interval '1 month')::date, part_name);
      get diagnostics moved = row_count;
      if moved > 0 then
        raise notice 'moved % rows of % from its default partition into %', moved, parent, part_name;
      end if;
    end if;
    execute format('alter table %s attach partition app_private.%I for values from (%L) to (%L)',
      parent, part_name, month, (month + interval '1 month')::date);
    execute format('alter table app_private.%I enable row level security', part_name);
    return next part_name;
  end loop;
end;
$$;
comment on function app_private.create_monthly_partitions(regclass, integer, date) is
  E'Creates the monthly partitions of a table partitioned by a timestamp, from the month of from_month to months_ahead months later; rows the default partition holds for those months are moved in. Idempotent. Returns the partitions it created.';

create function app_private.drop_expired_partitions(parent regclass, keep_months integer) returns setof text
  language plpgsql
  set search_path to pg_catalog, pg_temp
  set timezone to 'UTC'
as $$
declare
  part record;
  oldest_kept date := (date_trunc('month', now()) - make_interval(months => keep_months))::date;
begin
  if keep_months < 1 then
    raise exception 'keep_months must be at least 1, got %', keep_months;
  end if;
  if not exists (select 1 from pg_partitioned_table where partrelid = parent) then
    raise exception '% is not a partitioned table', parent;
  end if;
  for part in
    select c.oid::regclass as rel, c.relname
      from pg_inherits i
      join pg_class c on c.oid = i.inhrelid
     where i.inhparent = parent and c.relname ~ '_p[0-9]{6}$'
  loop
    if to_date(right(part.relname, 6), 'YYYYMM') < oldest_kept then
      execute format('drop table %s', part.rel);
      return next part.relname;
    end if;
  end loop;
end;
$$;
comment on function app_private.drop_expired_partitions(regclass, integer) is
  E'Retention: drops the monthly partitions of a table that are older than keep_months whole months before the current one. Returns the dropped partitions.';
