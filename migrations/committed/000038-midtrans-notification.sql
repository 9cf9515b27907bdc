--! Previous: sha1:195b404269544e122783c6c42f0eea5bde66fd01
--! Hash: sha1:4f2125043b49c07f98066bdc78d41eb8efb6ef01
--! Message: midtrans notification

-- Midtrans' HTTP notification (webhook): Midtrans POSTs the JSON body of a
-- transaction's new status, unauthenticated and with no custom headers. The
-- database records every notification it receives, checks signature_key
-- (SHA-512 of order_id + status_code + gross_amount + the server key, over
-- the payload's exact strings), and for a genuine one about one of our
-- orders queues a confirmation by the worker, which asks the status API
-- (the authority) before anything moves: a notification never changes an
-- invoice by itself, so a forged, duplicate or out-of-order one cannot.
create table api.payment_notifications (
  id uuid not null default gen_random_uuid(),
  received_at timestamptz not null default now(),
  order_id text,
  transaction_status text,
  status_code text,
  gross_amount text,
  signature_valid boolean not null,
  body jsonb not null,
  constraint payment_notifications_pkey primary key (id),
  constraint payment_notifications_body_object check (jsonb_typeof(body) = 'object')
);
comment on table api.payment_notifications is E'Every HTTP notification Midtrans (or anyone) POSTed to /rpc/midtrans_notification, as received, with whether its signature was valid. Invoices move only after the worker confirms with the status API.';
comment on column api.payment_notifications.signature_valid is E'signature_key = SHA-512(order_id + status_code + gross_amount + server key), checked on receipt.';
create index payment_notifications_order_id_idx on api.payment_notifications (order_id);
create index payment_notifications_received_at_idx on api.payment_notifications (received_at);
alter table api.payment_notifications enable row level security;
grant select on api.payment_notifications to app_admin;
create policy select_all_admin on api.payment_notifications for select to app_admin using (true);
grant select on api.payment_notifications to app_worker;
create policy worker_select on api.payment_notifications for select to app_worker using (true);

create function api.midtrans_notification(jsonb) returns jsonb
  language plpgsql volatile security definer
  set search_path to pg_catalog, public, pg_temp
as $$
declare
  body constant jsonb := $1;
  server_key text := app_private.setting('midtrans_server_key');
  valid boolean;
begin
  if body is null or jsonb_typeof(body) <> 'object' then
    perform app_hidden.raise_error('INVALID_INPUT', 'A Midtrans notification is a JSON object.', 400);
  end if;
  if server_key is null or server_key = '' then
    perform app_hidden.raise_error('SERVER_MISCONFIGURED', 'The server has no Midtrans server key; the operator must supply MIDTRANS_SERVER_KEY.', 503);
  end if;
  -- A missing signed field makes the check null: not valid.
  valid := coalesce(jsonb_typeof(body -> 'order_id') = 'string' and jsonb_typeof(body -> 'status_code') = 'string'
    and jsonb_typeof(body -> 'gross_amount') = 'string' and jsonb_typeof(body -> 'signature_key') = 'string'
    and lower(body ->> 'signature_key') = encode(public.digest(
          (body ->> 'order_id') || (body ->> 'status_code') || (body ->> 'gross_amount') || server_key, 'sha512'), 'hex'), false);
  insert into api.payment_notifications (order_id, transaction_status, status_code, gross_amount, signature_valid, body)
    values (left(body ->> 'order_id', 100), left(body ->> 'transaction_status', 50), left(body ->> 'status_code', 10),
            left(body ->> 'gross_amount', 50), valid, body);
  if not valid then
    -- Answered like an error, but committed: the forgery stays on record.
    perform set_config('response.status', '401', true);
    return jsonb_build_object('code', 'INVALID_SIGNATURE', 'message', 'signature_key does not match this notification.',
                              'details', null, 'hint', null);
  end if;
  if exists (select 1 from api.payment_attempts a where a.order_id = body ->> 'order_id') then
    -- One confirmation per order at a time: a repeated notification while
    -- one is queued only refreshes it (job key).
    perform graphile_worker.add_job('invoices__confirm_payment', json_build_object('order_id', body ->> 'order_id'),
      job_key => 'invoices__confirm_payment:' || (body ->> 'order_id'));
  end if;
  return jsonb_build_object('status', 'ok');
end;
$$;
comment on function api.midtrans_notification(jsonb) is
  E'Midtrans'' HTTP notification endpoint: POST the notification JSON as the body, with no token. Records it, checks signature_key, and for one of our orders queues a confirmation through the status API; answers 200 {"status":"ok"} at once, also for duplicates and orders that are not ours. SECURITY DEFINER: it reads the server key and queues a job. Errors: INVALID_SIGNATURE (401, recorded), INVALID_INPUT (400: not a JSON object), SERVER_MISCONFIGURED (503: no server key).';
grant execute on function api.midtrans_notification(jsonb) to web_anon, app_client, app_admin;
