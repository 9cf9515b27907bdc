--! Previous: sha1:664d4734fb690273d6e7326c4c0ffa65b7d0585d
--! Hash: sha1:a3e4b10cc360a043e1e7a5468d46fb65f7b0098b
--! Message: rate limits

create table app_private.rate_limits (
  action text not null,
  max_count integer not null,
  window_seconds integer not null,
  constraint rate_limits_pkey primary key (action),
  constraint rate_limits_max_count_positive check (max_count > 0),
  constraint rate_limits_window_positive check (window_seconds > 0)
);
comment on table app_private.rate_limits is E'How many times an action may happen per window: per email for failed logins, per user for costly business actions. Operators tune the rows; nothing in the API reads them.';
alter table app_private.rate_limits enable row level security;

insert into app_private.rate_limits (action, max_count, window_seconds) values
  ('login_failed', 5, 900),
  ('create_project', 20, 3600),
  ('set_project_credentials', 30, 3600),
  ('admin_action', 100, 60);

-- A sliding-window log: one row per counted event, pruned as it goes.
create table app_private.rate_limit_events (
  bucket text not null,
  occurred_at timestamptz not null default clock_timestamp()
);
comment on table app_private.rate_limit_events is E'Counted events per bucket (action:subject) for the sliding-window rate limits.';
create index rate_limit_events_bucket_occurred_at_idx on app_private.rate_limit_events (bucket, occurred_at);
alter table app_private.rate_limit_events enable row level security;

create function app_private.rate_limit_exceeded(action_name text, subject text) returns boolean
  language plpgsql volatile
  set search_path to pg_catalog, pg_temp
as $$
declare
  lim app_private.rate_limits;
  bucket_name text := action_name || ':' || subject;
  used integer;
begin
  select * into lim from app_private.rate_limits where action = action_name;
  if not found then
    raise exception 'no rate limit is defined for action %', action_name;
  end if;
  -- Serialise concurrent checks of one bucket so two requests cannot both
  -- take the last slot.
  perform pg_advisory_xact_lock(hashtextextended(bucket_name, 0));
  delete from app_private.rate_limit_events
   where bucket = bucket_name and occurred_at < clock_timestamp() - make_interval(secs => lim.window_seconds);
  select count(*) into used from app_private.rate_limit_events where bucket = bucket_name;
  return used >= lim.max_count;
end;
$$;
comment on function app_private.rate_limit_exceeded(text, text) is E'True when action_name has already happened max_count times for subject within its window (and prunes older events).';

create function app_private.count_rate_limited(action_name text, subject text) returns void
  language sql volatile
  set search_path to pg_catalog, pg_temp
as $$
  insert into app_private.rate_limit_events (bucket) values (action_name || ':' || subject);
$$;
comment on function app_private.count_rate_limited(text, text) is E'Counts one event of action_name for subject.';

create function app_private.enforce_user_rate_limit(action_name text) returns void
  language plpgsql volatile
  set search_path to pg_catalog, pg_temp
as $$
declare
  user_id uuid := app_hidden.require_user_id();
begin
  if app_private.rate_limit_exceeded(action_name, user_id::text) then
    perform app_hidden.raise_error('RATE_LIMITED', format('Too many %s requests; try again later.', action_name), 429);
  end if;
  perform app_private.count_rate_limited(action_name, user_id::text);
end;
$$;
comment on function app_private.enforce_user_rate_limit(text) is E'The per-user limit for costly actions: call it first in a (VOLATILE, POST-only) business function. Raises RATE_LIMITED (429) past the limit; otherwise counts the call, which is kept only if the action commits.';
