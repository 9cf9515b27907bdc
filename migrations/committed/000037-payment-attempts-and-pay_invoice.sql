--! Previous: sha1:74a0a5b602343cb0287bd0c20320496516ad4347
--! Hash: sha1:195b404269544e122783c6c42f0eea5bde66fd01
--! Message: payment attempts and pay_invoice

-- Paying an invoice: each charge is a payment attempt with its own Midtrans
-- order id (an invoice whose QR expired or failed is paid again with a new
-- one), recorded before Midtrans is called so that a charge that timed out
-- after Midtrans accepted it is found again, never charged twice.
alter table api.invoices add column qris_expires_at timestamptz;
comment on column api.invoices.qris_expires_at is E'When the current QR code stops being payable (from the Midtrans charge); null while the charge is being made.';
grant update (qris_expires_at) on api.invoices to app_worker;

create table api.payment_attempts (
  id uuid not null default gen_random_uuid(),
  invoice_id uuid not null,
  order_id text not null,
  amount numeric(12, 2) not null,
  midtrans_transaction_id text,
  midtrans_status text,
  qris_url text,
  expires_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint payment_attempts_pkey primary key (id),
  constraint payment_attempts_invoice_id_fkey foreign key (invoice_id) references api.invoices (id) on delete cascade,
  constraint payment_attempts_order_id_key unique (order_id),
  constraint payment_attempts_order_id_format check (order_id ~ '^[A-Za-z0-9_~.-]{1,50}$'),
  constraint payment_attempts_amount_positive check (amount > 0),
  constraint payment_attempts_amount_whole_rupiah check (amount = trunc(amount)),
  constraint payment_attempts_midtrans_status_valid check (midtrans_status is null or midtrans_status in (
    'pending', 'settlement', 'capture', 'authorize', 'deny', 'cancel', 'expire', 'failure', 'refund', 'partial_refund')),
  constraint payment_attempts_qris_url_format check (qris_url is null or app_hidden.is_http_url(qris_url))
);
comment on table api.payment_attempts is E'One Midtrans charge of an invoice: its order id (recorded before the call, so a retry finds it), the Midtrans transaction and status, and the QR. The invoice''s midtrans_order_id is its latest attempt.';
comment on column api.payment_attempts.order_id is E'The order id sent to Midtrans: JW-<invoice id without dashes>-<attempt number>.';
comment on column api.payment_attempts.midtrans_status is E'The last transaction_status Midtrans confirmed for this order (status API), null before the charge answered.';
create index payment_attempts_invoice_id_idx on api.payment_attempts (invoice_id);
create trigger _100_timestamps before update on api.payment_attempts
  for each row execute function app_private.tg__set_updated_at();
create trigger _500_audit after insert or update or delete on api.payment_attempts
  for each row execute function app_private.tg__audit();
alter table api.payment_attempts enable row level security;
grant select on api.payment_attempts to app_admin;
create policy select_all_admin on api.payment_attempts for select to app_admin using (true);
grant select, update (midtrans_transaction_id, midtrans_status, qris_url, expires_at) on api.payment_attempts to app_worker;
create policy worker_all on api.payment_attempts for all to app_worker using (true) with check (true);

insert into app_private.rate_limits (action, max_count, window_seconds) values ('pay_invoice', 30, 3600);

create function api.pay_invoice(invoice_id uuid) returns api.invoices
  language plpgsql volatile security definer
  set search_path to pg_catalog, pg_temp
as $$
declare
  caller uuid := app_hidden.require_user_id();
  inv api.invoices;
  attempt api.payment_attempts;
  attempt_number integer;
begin
  if invoice_id is null then
    perform app_hidden.raise_error('INVALID_INPUT', 'invoice_id is required.', 400);
  end if;
  -- The row lock serialises double clicks: the second sees the first's attempt.
  select i.* into inv from api.invoices i join api.projects p on p.id = i.project_id
   where i.id = pay_invoice.invoice_id and p.user_id = caller
   for update of i;
  if not found then
    perform app_hidden.raise_error('INVOICE_NOT_FOUND', 'There is no such invoice among yours.', 404);
  end if;
  if inv.status = 'pending' and (inv.qris_expires_at is null or inv.qris_expires_at > now()) then
    return inv; -- a charge is under way or its QR is still payable: nothing new
  end if;
  if inv.status not in ('unpaid', 'failed', 'expired', 'pending') then
    perform app_hidden.raise_error('INVOICE_NOT_PAYABLE', format('An invoice that is %s cannot be paid.', inv.status), 409,
      format('status %s', inv.status));
  end if;
  perform app_private.enforce_user_rate_limit('pay_invoice');
  select count(*) + 1 into attempt_number from api.payment_attempts a where a.invoice_id = inv.id;
  insert into api.payment_attempts (invoice_id, order_id, amount)
    values (inv.id, 'JW-' || replace(inv.id::text, '-', '') || '-' || attempt_number, inv.amount)
    returning * into attempt;
  update api.invoices i set status = 'pending', midtrans_order_id = attempt.order_id, qris_url = null, qris_expires_at = null
   where i.id = inv.id returning * into inv;
  -- The charge leaves the database through the worker, queued in this
  -- transaction (an outbox): it exists exactly when the attempt does.
  perform graphile_worker.add_job('invoices__create_qris_payment', json_build_object('attempt_id', attempt.id),
    job_key => 'invoices__create_qris_payment:' || attempt.order_id);
  return inv;
end;
$$;
comment on function api.pay_invoice(uuid) is
  E'The owner pays an invoice by QRIS: answers at once with the invoice (pending) and queues the Midtrans charge (a new payment attempt and order id). A second call while a charge is under way or its QR is payable changes nothing; an invoice whose QR expired or whose payment failed is charged again. SECURITY DEFINER: it records the attempt and queues the job, which the client may not. Errors: NOT_AUTHENTICATED (401), INVALID_INPUT (400), INVOICE_NOT_FOUND (404), INVOICE_NOT_PAYABLE (409: paid, refunded or cancelled), RATE_LIMITED (429).';
grant execute on function api.pay_invoice(uuid) to app_client, app_admin;
