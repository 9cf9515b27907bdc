-- Back to migration 000041: record_breaker_snapshot returns nothing,
-- reset_circuit_breaker only sends the NOTIFY, and no reset requests table.

drop function app_hidden.record_breaker_snapshot(text, timestamptz, integer, text, text, integer, integer, timestamptz, text, timestamptz, bigint, bigint, bigint);
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

create or replace function api.reset_circuit_breaker(name text) returns json
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

drop table app_private.breaker_reset_requests;
