--! Previous: sha1:7b229a6ee764aff8be5d0f0201223873c0f9cc7d
--! Hash: sha1:65d9509f24887386f6be13d1f419f6666c4f4939
--! Message: resilience api

-- The resilience API: every worker instance's circuit breakers as the
-- database last heard of them, the admin's status and reset calls, and a
-- Retry-After header on every RATE_LIMITED answer.
--
-- Where the snapshots live: app_private.breaker_snapshots. Only the worker
-- writes them (app_hidden.record_breaker_snapshot and
-- app_hidden.forget_worker_instance, EXECUTE granted to app_worker alone)
-- and only an admin reads them, through api.resilience_status, which is
-- rate limited. In app_private no API role can reach the table directly: a
-- table in api would be readable with GET, which is read-only and so could
-- not count the rate limit, and the worker has no business in api for this.

create table app_private.breaker_snapshots (
  instance_id text not null,
  breaker text not null,
  state text not null,
  consecutive_failures integer not null default 0,
  half_open_successes integer not null default 0,
  last_failure_at timestamptz,
  last_failure_reason text,
  opened_at timestamptz,
  total_calls bigint not null default 0,
  total_failures bigint not null default 0,
  total_rejections bigint not null default 0,
  heartbeat_ms integer not null,
  started_at timestamptz not null,
  updated_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  constraint breaker_snapshots_pkey primary key (instance_id, breaker),
  constraint breaker_snapshots_instance_id_format check (instance_id ~ '^[A-Za-z0-9._:@-]{1,200}$'),
  constraint breaker_snapshots_breaker_format check (breaker ~ '^[a-z][a-z0-9_-]{0,62}$'),
  constraint breaker_snapshots_state_valid check (state in ('closed', 'open', 'half-open')),
  constraint breaker_snapshots_consecutive_failures_not_negative check (consecutive_failures >= 0),
  constraint breaker_snapshots_half_open_successes_not_negative check (half_open_successes >= 0),
  constraint breaker_snapshots_last_failure_complete check ((last_failure_at is null) = (last_failure_reason is null)),
  constraint breaker_snapshots_last_failure_reason_length check (length(last_failure_reason) <= 1000),
  constraint breaker_snapshots_totals_consistent check (
    total_failures >= 0 and total_rejections >= 0 and total_failures + total_rejections <= total_calls),
  constraint breaker_snapshots_heartbeat_ms_range check (heartbeat_ms between 100 and 3600000)
);
comment on table app_private.breaker_snapshots is
  E'The circuit breakers of every worker instance as last reported: one row per instance and breaker, written by the worker on every state change and on every heartbeat (app_hidden.record_breaker_snapshot), read by admins through api.resilience_status. An instance removes its rows when it stops cleanly; rows of an instance not heard of for 24 hours are removed by the next report of any instance.';
comment on column app_private.breaker_snapshots.instance_id is E'The worker process: WORKER_INSTANCE_ID, or hostname:pid:random.';
comment on column app_private.breaker_snapshots.breaker is E'Which breaker of the instance (midtrans: the one in front of every Midtrans call).';
comment on column app_private.breaker_snapshots.state is E'closed, open (rejecting calls without making them) or half-open (letting trial calls through).';
comment on column app_private.breaker_snapshots.half_open_successes is E'Successful trial calls in a row in the current half-open period.';
comment on column app_private.breaker_snapshots.opened_at is E'When the circuit last opened; null after a reset or when it never opened.';
comment on column app_private.breaker_snapshots.total_calls is E'Operations submitted since the instance started, rejected ones included; with total_failures and total_rejections never reset.';
comment on column app_private.breaker_snapshots.heartbeat_ms is E'How often the instance reports; it counts as alive while its last report is at most three beats old.';
comment on column app_private.breaker_snapshots.started_at is E'When the worker instance started (its clock).';
comment on column app_private.breaker_snapshots.updated_at is E'When a figure of the snapshot last changed (the database''s clock; kept by _100_timestamps).';
comment on column app_private.breaker_snapshots.last_seen_at is E'The instance''s last report, heartbeat or state change (the database''s clock).';
alter table app_private.breaker_snapshots enable row level security;

-- A heartbeat that changes nothing moves last_seen_at only: updated_at says
-- when the breaker last did something.
create trigger _100_timestamps before update on app_private.breaker_snapshots
  for each row when (
    (old.state, old.consecutive_failures, old.half_open_successes, old.last_failure_at, old.last_failure_reason,
     old.opened_at, old.total_calls, old.total_failures, old.total_rejections)
    is distinct from
    (new.state, new.consecutive_failures, new.half_open_successes, new.last_failure_at, new.last_failure_reason,
     new.opened_at, new.total_calls, new.total_failures, new.total_rejections))
  execute function app_private.tg__set_updated_at();

create function app_hidden.record_breaker_snapshot(
  instance_id text,
  started_at timestamptz,
  heartbeat_ms integer,
  breaker text,
  state text,
  consecutive_failures integer,
  half_open_successes integer,
  last_failure_at timestamptz,
  last_failure_reason text,
  opened_at timestamptz,
  total_calls bigint,
  total_failures bigint,
  total_rejections bigint
) returns void
  language plpgsql volatile security definer
  set search_path to pg_catalog, pg_temp
as $$
begin
  insert into app_private.breaker_snapshots as s (
    instance_id, breaker, state, consecutive_failures, half_open_successes, last_failure_at, last_failure_reason,
    opened_at, total_calls, total_failures, total_rejections, heartbeat_ms, started_at, last_seen_at)
  values (
    record_breaker_snapshot.instance_id, record_breaker_snapshot.breaker, record_breaker_snapshot.state,
    record_breaker_snapshot.consecutive_failures, record_breaker_snapshot.half_open_successes,
    record_breaker_snapshot.last_failure_at, left(record_breaker_snapshot.last_failure_reason, 1000),
    record_breaker_snapshot.opened_at, record_breaker_snapshot.total_calls, record_breaker_snapshot.total_failures,
    record_breaker_snapshot.total_rejections, record_breaker_snapshot.heartbeat_ms, record_breaker_snapshot.started_at,
    now())
  on conflict on constraint breaker_snapshots_pkey do update
    set state = excluded.state, consecutive_failures = excluded.consecutive_failures,
        half_open_successes = excluded.half_open_successes, last_failure_at = excluded.last_failure_at,
        last_failure_reason = excluded.last_failure_reason, opened_at = excluded.opened_at,
        total_calls = excluded.total_calls, total_failures = excluded.total_failures,
        total_rejections = excluded.total_rejections, heartbeat_ms = excluded.heartbeat_ms,
        started_at = excluded.started_at, last_seen_at = excluded.last_seen_at;
  -- Instances that died without stopping cleanly are shown as not alive for
  -- a day, then forgotten.
  delete from app_private.breaker_snapshots s where s.last_seen_at < now() - interval '24 hours';
end;
$$;
comment on function app_hidden.record_breaker_snapshot(text, timestamptz, integer, text, text, integer, integer, timestamptz, text, timestamptz, bigint, bigint, bigint) is
  E'The worker reports one breaker of one instance (on a state change and on every heartbeat): the row is replaced and last_seen_at set to now; rows of instances silent for 24 hours are removed. SECURITY DEFINER because the worker cannot use app_private; the EXECUTE grant to app_worker alone is its check.';
revoke execute on function app_hidden.record_breaker_snapshot(text, timestamptz, integer, text, text, integer, integer, timestamptz, text, timestamptz, bigint, bigint, bigint) from public;
grant execute on function app_hidden.record_breaker_snapshot(text, timestamptz, integer, text, text, integer, integer, timestamptz, text, timestamptz, bigint, bigint, bigint) to app_worker;

create function app_hidden.forget_worker_instance(instance_id text) returns integer
  language sql volatile security definer
  set search_path to pg_catalog, pg_temp
as $$
  with gone as (
    delete from app_private.breaker_snapshots s where s.instance_id = forget_worker_instance.instance_id returning 1
  )
  select count(*)::integer from gone;
$$;
comment on function app_hidden.forget_worker_instance(text) is
  E'A worker instance that stops cleanly removes its breaker rows (a stopped instance has no breaker to watch or reset); returns how many. SECURITY DEFINER because the worker cannot use app_private; the EXECUTE grant to app_worker alone is its check.';
revoke execute on function app_hidden.forget_worker_instance(text) from public;
grant execute on function app_hidden.forget_worker_instance(text) to app_worker;

-- The resilience calls have a bucket of their own, so that an admin's
-- dashboard polling does not eat into the admin actions' budget.
insert into app_private.rate_limits (action, max_count, window_seconds) values ('resilience_api', 100, 60);

create function api.resilience_status() returns table (
  instance_id text,
  alive boolean,
  started_at timestamptz,
  last_seen_at timestamptz,
  breaker text,
  state text,
  consecutive_failures integer,
  half_open_successes integer,
  last_failure_at timestamptz,
  last_failure_reason text,
  opened_at timestamptz,
  total_calls bigint,
  total_failures bigint,
  total_rejections bigint,
  updated_at timestamptz
)
  language plpgsql volatile security definer
  set search_path to pg_catalog, pg_temp
as $$
begin
  perform app_hidden.require_admin();
  perform app_private.enforce_user_rate_limit('resilience_api');
  return query
    select s.instance_id, s.last_seen_at >= now() - make_interval(secs => 3 * s.heartbeat_ms / 1000.0),
           s.started_at, s.last_seen_at, s.breaker, s.state, s.consecutive_failures, s.half_open_successes,
           s.last_failure_at, s.last_failure_reason, s.opened_at, s.total_calls, s.total_failures,
           s.total_rejections, s.updated_at
      from app_private.breaker_snapshots s
     order by 2 desc, s.instance_id, s.breaker;
end;
$$;
comment on function api.resilience_status() is
  E'Admin only: one row per worker instance and breaker, as the instance last reported it: state, consecutive failures, successes in half-open, last failure (time, reason), opened at, totals of calls, failures and rejections since the instance started. alive is false when the instance missed three heartbeats (crashed or cut off): its row shows what it last said, and is removed after 24 hours; a cleanly stopped instance has no rows. Alive instances first. VOLATILE, so POST only: a GET is read-only and could not count the rate limit (100 calls per minute per user, shared with reset_circuit_breaker). SECURITY DEFINER: the snapshots are in app_private. Errors: NOT_AUTHENTICATED (401), FORBIDDEN (403), RATE_LIMITED (429 with Retry-After).';
grant execute on function api.resilience_status() to app_client, app_admin;

create function api.reset_circuit_breaker(name text) returns json
  language plpgsql volatile security definer
  set search_path to pg_catalog, pg_temp
as $$
declare
  requested_by uuid;
  before_reset jsonb;
  reached text[];
begin
  perform app_hidden.require_admin();
  perform app_private.enforce_user_rate_limit('resilience_api');
  requested_by := app_hidden.current_user_id();
  if name is null or btrim(name) = '' then
    perform app_hidden.raise_error('INVALID_INPUT', 'name is required (e.g. midtrans).', 400);
  end if;
  select jsonb_agg(jsonb_build_object('instance_id', s.instance_id, 'state', s.state,
                                      'consecutive_failures', s.consecutive_failures, 'opened_at', s.opened_at,
                                      'alive', s.last_seen_at >= now() - make_interval(secs => 3 * s.heartbeat_ms / 1000.0))
                   order by s.instance_id),
         coalesce(array_agg(s.instance_id order by s.instance_id)
                    filter (where s.last_seen_at >= now() - make_interval(secs => 3 * s.heartbeat_ms / 1000.0)),
                  '{}')
    into before_reset, reached
    from app_private.breaker_snapshots s where s.breaker = reset_circuit_breaker.name;
  if before_reset is null then
    perform app_hidden.raise_error('BREAKER_NOT_FOUND',
      format('No worker instance has reported a breaker named %s.', reset_circuit_breaker.name), 404);
  end if;
  perform app_private.write_audit('UPDATE', 'circuit_breakers', reset_circuit_breaker.name,
    jsonb_build_object('instances', before_reset),
    jsonb_build_object('command', 'reset_circuit_breaker', 'instances', to_jsonb(reached)));
  -- Delivered at commit to every worker listening on the channel.
  perform pg_notify('worker_control', json_build_object(
    'command', 'reset_circuit_breaker', 'name', reset_circuit_breaker.name, 'requested_by', requested_by)::text);
  return json_build_object('name', reset_circuit_breaker.name, 'requested_by', requested_by, 'requested_at', now(),
                           'instances', to_json(reached));
end;
$$;
comment on function api.reset_circuit_breaker(text) is
  E'Admin only: closes the named breaker (midtrans) in every running worker instance. The request goes out on NOTIFY channel worker_control as {command, name, requested_by} when the call commits; each listening instance resets its breaker and reports its snapshot. Audited (UPDATE on resource circuit_breakers, the instances'' states before, the instances reached). Returns {name, requested_by, requested_at, instances}: the alive instances that have the breaker. A breaker is known once an instance has reported it. 100 calls per minute per user, shared with resilience_status (VOLATILE: POST only). Errors: NOT_AUTHENTICATED (401), FORBIDDEN (403), INVALID_INPUT (400), BREAKER_NOT_FOUND (404), RATE_LIMITED (429 with Retry-After).';
grant execute on function api.reset_circuit_breaker(text) to app_client, app_admin;

-- Retry-After on 429s. raise_error gains a form that sets response headers
-- (PostgREST reads them from the error's detail, like the status).
create function app_hidden.raise_error(
  error_code text,
  error_message text,
  http_status integer,
  error_details text,
  error_hint text,
  response_headers jsonb
) returns void
  language plpgsql stable
  set search_path to pg_catalog, pg_temp
as $$
begin
  raise sqlstate 'PGRST' using
    message = json_build_object('code', error_code, 'message', error_message, 'details', error_details, 'hint', error_hint)::text,
    detail = json_build_object('status', http_status, 'headers', coalesce(response_headers, '{}'::jsonb))::text;
end;
$$;
comment on function app_hidden.raise_error(text, text, integer, text, text, jsonb) is
  E'raise_error with response headers (a JSON object of header name to string value), e.g. Retry-After on a 429. The codes are listed in the README (Errors).';
revoke execute on function app_hidden.raise_error(text, text, integer, text, text, jsonb) from public;
grant execute on function app_hidden.raise_error(text, text, integer, text, text, jsonb)
  to web_anon, app_client, app_admin, app_worker;

create function app_private.rate_limit_retry_after(action_name text, subject text) returns jsonb
  language sql volatile
  set search_path to pg_catalog, pg_temp
as $$
  -- The limit is full: the next slot frees when the event that put the count
  -- at max_count leaves the window.
  select jsonb_build_object('Retry-After', greatest(1, coalesce(ceil(extract(epoch from
           (select e.occurred_at from app_private.rate_limit_events e
             where e.bucket = action_name || ':' || subject
             order by e.occurred_at desc offset lim.max_count - 1 limit 1)
           + make_interval(secs => lim.window_seconds) - clock_timestamp())), lim.window_seconds))::integer::text)
    from app_private.rate_limits lim where lim.action = action_name;
$$;
comment on function app_private.rate_limit_retry_after(text, text) is
  E'The Retry-After header for a full rate limit: {"Retry-After": "<seconds>"}, the whole seconds (at least 1) until action_name has a free slot for subject again.';

create or replace function app_private.enforce_user_rate_limit(action_name text) returns void
  language plpgsql volatile
  set search_path to pg_catalog, pg_temp
as $$
declare
  user_id uuid := app_hidden.require_user_id();
begin
  if app_private.rate_limit_exceeded(action_name, user_id::text) then
    perform app_hidden.raise_error('RATE_LIMITED', format('Too many %s requests; try again later.', action_name), 429,
      null, null, app_private.rate_limit_retry_after(action_name, user_id::text));
  end if;
  perform app_private.count_rate_limited(action_name, user_id::text);
end;
$$;
comment on function app_private.enforce_user_rate_limit(text) is E'The per-user limit for costly actions: call it first in a (VOLATILE, POST-only) business function. Raises RATE_LIMITED (429, with a Retry-After header: seconds until a slot frees) past the limit; otherwise counts the call, which is kept only if the action commits.';

create or replace function api.register(email text, password text, name text, phone text default null) returns json
  language plpgsql volatile security definer
  set search_path to pg_catalog, public, pg_temp
as $$
declare
  clean_email text := app_private.validate_email(email);
  clean_phone text := nullif(btrim(phone), '');
  new_user api.users;
begin
  if password is null or length(password) < 8 then
    perform app_hidden.raise_error('WEAK_PASSWORD', 'The password must have at least 8 characters.', 400);
  end if;
  -- bcrypt reads only the first 72 bytes; refuse rather than silently ignore the rest.
  if octet_length(password) > 72 then
    perform app_hidden.raise_error('WEAK_PASSWORD', 'The password must be at most 72 bytes long.', 400);
  end if;
  perform app_private.validate_profile(name, clean_phone);
  if app_private.rate_limit_exceeded('register', coalesce(app_hidden.request_ip(), 'local')) then
    perform app_hidden.raise_error('RATE_LIMITED', 'Too many sign-ups from this address; try again later.', 429,
      null, null, app_private.rate_limit_retry_after('register', coalesce(app_hidden.request_ip(), 'local')));
  end if;
  perform app_private.count_rate_limited('register', coalesce(app_hidden.request_ip(), 'local'));
  begin
    insert into api.users (email, name, phone) values (clean_email, btrim(register.name), clean_phone) returning * into new_user;
  exception when unique_violation then
    perform app_hidden.raise_error('EMAIL_TAKEN', 'An account with this email already exists.', 409);
  end;
  insert into app_private.user_secrets (user_id, password_hash) values (new_user.id, crypt(password, gen_salt('bf', 10)));
  return app_private.session_for(new_user);
end;
$$;
