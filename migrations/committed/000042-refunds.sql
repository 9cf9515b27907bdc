--! Previous: sha1:65d9509f24887386f6be13d1f419f6666c4f4939
--! Hash: sha1:f72f9c97f9c6afc5c1ad59796df1c7fa718c697d
--! Message: refunds

-- Refunds: an admin gives back all or part of a paid invoice. Each refund is
-- a row recorded before Midtrans is called, with the refund_key Midtrans
-- sees (derived from the row's id), so a retried call never refunds twice;
-- the call itself leaves the database through the worker, queued in the
-- same transaction (an outbox). What is left to refund counts the refunds
-- that succeeded and those still under way, under a row lock on the
-- invoice, so two admins at once cannot give back more than was paid.
create table api.refunds (
  id uuid not null default gen_random_uuid(),
  invoice_id uuid not null,
  order_id text not null,
  amount numeric(12, 2) not null,
  reason text not null,
  requested_by uuid,
  status text not null default 'requested',
  refund_key text not null,
  midtrans_refund_id text,
  midtrans_status text,
  failure_reason text,
  completed_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint refunds_pkey primary key (id),
  constraint refunds_invoice_id_fkey foreign key (invoice_id) references api.invoices (id) on delete restrict,
  constraint refunds_requested_by_fkey foreign key (requested_by) references api.users (id) on delete set null,
  constraint refunds_refund_key_key unique (refund_key),
  constraint refunds_refund_key_format check (refund_key ~ '^[A-Za-z0-9_-]{1,64}$'),
  constraint refunds_amount_positive check (amount > 0),
  constraint refunds_amount_whole_rupiah check (amount = trunc(amount)),
  constraint refunds_reason_not_blank check (app_hidden.is_not_blank(reason, 500)),
  constraint refunds_status_valid check (status in ('requested', 'succeeded', 'failed')),
  constraint refunds_failure_reason_when_failed check ((status = 'failed') = (failure_reason is not null)),
  constraint refunds_completed_at_when_done check ((status = 'requested') = (completed_at is null))
);
comment on table api.refunds is E'Money given back on a paid invoice, all or part of it (api.refund_invoice): requested by an admin, carried out by the worker through Midtrans (invoices__refund_payment), then succeeded or failed. Refunds that succeeded add up to what Midtrans reports as the transaction''s refund_amount.';
comment on column api.refunds.order_id is E'The Midtrans order id of the payment attempt that paid the invoice: the transaction refunded.';
comment on column api.refunds.amount is E'Whole rupiah, at most what was left to refund when it was requested (invoice amount minus succeeded and still requested refunds).';
comment on column api.refunds.requested_by is E'The admin who asked for it (null if that account was deleted since).';
comment on column api.refunds.status is E'requested (the worker has not had Midtrans'' answer yet), succeeded (Midtrans approved it), failed (Midtrans refused it: failure_reason says why; the amount counts as not refunded).';
comment on column api.refunds.refund_key is E'The refund_key sent to Midtrans, JW-R-<id without dashes>: every retry of this refund sends the same key, and Midtrans answers the first refund again instead of refunding twice.';
comment on column api.refunds.midtrans_refund_id is E'Midtrans'' refund_chargeback_id.';
comment on column api.refunds.midtrans_status is E'The transaction_status Midtrans answered to the refund (refund or partial_refund).';
create index refunds_invoice_id_idx on api.refunds (invoice_id);
create index refunds_requested_by_idx on api.refunds (requested_by);
create trigger _100_timestamps before update on api.refunds
  for each row execute function app_private.tg__set_updated_at();
create trigger _500_audit after insert or update or delete on api.refunds
  for each row execute function app_private.tg__audit();
alter table api.refunds enable row level security;
grant select on api.refunds to app_admin;
create policy select_all_admin on api.refunds for select to app_admin using (true);
grant select on api.refunds to app_client;
create policy select_own on api.refunds for select to app_client
  using (invoice_id = any (array(
    select i.id from api.invoices i join api.projects p on p.id = i.project_id
     where p.user_id = (select app_hidden.current_user_id()))));
grant select on api.refunds to app_worker;
create policy worker_select on api.refunds for select to app_worker using (true);

insert into app_private.rate_limits (action, max_count, window_seconds) values ('refund_invoice', 30, 60);

create function api.refund_invoice(invoice_id uuid, reason text, amount numeric default null) returns api.refunds
  language plpgsql volatile security definer
  set search_path to pg_catalog, pg_temp
as $$
declare
  caller uuid;
  inv api.invoices;
  remaining numeric;
  refund_amount numeric := refund_invoice.amount;
  new_id uuid := gen_random_uuid();
  refund api.refunds;
begin
  perform app_hidden.require_admin();
  caller := app_hidden.require_user_id();
  if invoice_id is null then
    perform app_hidden.raise_error('INVALID_INPUT', 'invoice_id is required.', 400);
  end if;
  if not coalesce(app_hidden.is_not_blank(reason, 500), false) then
    perform app_hidden.raise_error('INVALID_INPUT', 'reason is required: 1 to 500 characters, not only spaces.', 400);
  end if;
  if refund_amount is not null and (refund_amount <= 0 or refund_amount <> trunc(refund_amount)) then
    perform app_hidden.raise_error('INVALID_REFUND_AMOUNT', 'amount must be a positive whole number of rupiah.', 400);
  end if;
  -- The row lock serialises refunds of one invoice: the second sees the first's row.
  select i.* into inv from api.invoices i where i.id = refund_invoice.invoice_id for update;
  if not found then
    perform app_hidden.raise_error('INVOICE_NOT_FOUND', 'There is no such invoice.', 404);
  end if;
  if inv.status not in ('paid', 'partial_refunded') then
    perform app_hidden.raise_error('INVOICE_NOT_REFUNDABLE', format('An invoice that is %s cannot be refunded; only a paid one.', inv.status), 409,
      format('status %s', inv.status));
  end if;
  select inv.amount - coalesce(sum(r.amount), 0) into remaining
    from api.refunds r where r.invoice_id = inv.id and r.status in ('requested', 'succeeded');
  refund_amount := coalesce(refund_amount, remaining);
  if refund_amount > remaining or remaining <= 0 then
    perform app_hidden.raise_error('REFUND_EXCEEDS_REMAINING',
      format('Only Rp %s of this invoice is left to refund (refunds under way included).', to_char(remaining, 'FM999G999G999')), 409,
      format('remaining %s', remaining));
  end if;
  perform app_private.enforce_user_rate_limit('refund_invoice');
  insert into api.refunds (id, invoice_id, order_id, amount, reason, requested_by, refund_key)
    values (new_id, inv.id, inv.midtrans_order_id, refund_amount, btrim(reason), caller, 'JW-R-' || replace(new_id::text, '-', ''))
    returning * into refund;
  -- The refund leaves the database through the worker, queued in this
  -- transaction: the job exists exactly when the row does.
  perform graphile_worker.add_job('invoices__refund_payment', json_build_object('refund_id', refund.id),
    job_key => 'invoices__refund_payment:' || refund.refund_key);
  return refund;
end;
$$;
comment on function api.refund_invoice(uuid, text, numeric) is
  E'An admin refunds a paid (or partly refunded) invoice: amount in whole rupiah, omitted = all that is left; what is left = invoice amount minus refunds that succeeded or are still under way, so partial refunds add up and concurrent requests cannot over-refund (row lock on the invoice). Records the refund (requested) and queues invoices__refund_payment, which asks Midtrans; returns the refund row. SECURITY DEFINER: it inserts the refund and queues the job, which admins may not do directly. Errors: NOT_AUTHENTICATED (401), FORBIDDEN (403), INVALID_INPUT (400), INVALID_REFUND_AMOUNT (400), INVOICE_NOT_FOUND (404), INVOICE_NOT_REFUNDABLE (409), REFUND_EXCEEDS_REMAINING (409), RATE_LIMITED (429).';
grant execute on function api.refund_invoice(uuid, text, numeric) to app_client, app_admin;

create function app_hidden.record_refund_outcome(
  refund_id uuid,
  succeeded boolean,
  midtrans_refund_id text default null,
  midtrans_status text default null,
  failure_reason text default null
) returns text
  language plpgsql volatile security definer
  set search_path to pg_catalog, pg_temp
as $$
declare
  refund api.refunds;
  inv api.invoices;
  proj api.projects;
begin
  select r.* into refund from api.refunds r where r.id = record_refund_outcome.refund_id for update;
  if not found then
    return 'unknown_refund';
  end if;
  if refund.status <> 'requested' then
    return 'unchanged'; -- recorded by an earlier run of the job
  end if;
  select i.* into inv from api.invoices i where i.id = refund.invoice_id;
  select p.* into proj from api.projects p where p.id = inv.project_id;
  if succeeded then
    update api.refunds r
       set status = 'succeeded', completed_at = now(),
           midtrans_refund_id = record_refund_outcome.midtrans_refund_id, midtrans_status = record_refund_outcome.midtrans_status
     where r.id = refund.id;
    insert into api.real_time_notifications (user_id, type, title, message, payload, priority)
      values (proj.user_id, 'payment_received', 'Dana dikembalikan',
              format('Rp %s untuk %s dikembalikan ke metode pembayaran Anda.', to_char(refund.amount, 'FM999G999G999'), proj.name),
              jsonb_build_object('invoice_id', inv.id, 'refund_id', refund.id, 'amount', refund.amount), 'high');
    return 'succeeded';
  end if;
  update api.refunds r
     set status = 'failed', completed_at = now(),
         failure_reason = left(coalesce(nullif(btrim(record_refund_outcome.failure_reason), ''), 'refused by Midtrans'), 1000)
   where r.id = refund.id;
  insert into api.real_time_notifications (user_id, type, title, message, payload, priority)
    select u.id, 'admin_alert', 'Refund ditolak Midtrans',
           format('Refund Rp %s untuk invoice %s (%s) gagal: %s', to_char(refund.amount, 'FM999G999G999'), inv.id, proj.name,
                  left(coalesce(record_refund_outcome.failure_reason, 'refused by Midtrans'), 300)),
           jsonb_build_object('invoice_id', inv.id, 'refund_id', refund.id, 'amount', refund.amount), 'critical'
      from api.users u where u.role = 'admin';
  return 'failed';
end;
$$;
comment on function app_hidden.record_refund_outcome(uuid, boolean, text, text, text) is
  E'The worker records Midtrans'' answer to a refund: succeeded (with Midtrans'' refund id and transaction status; the client is notified) or failed (Midtrans refused it: failure_reason, every admin alerted). Only a refund still requested changes; returns succeeded, failed, ''unchanged'' (a repeated job) or ''unknown_refund''. The invoice itself moves by app_hidden.apply_payment_status once the status API confirms. SECURITY DEFINER only to alert the admins, whom the worker may not list; executable by app_worker alone.';
revoke execute on function app_hidden.record_refund_outcome(uuid, boolean, text, text, text) from public;
grant execute on function app_hidden.record_refund_outcome(uuid, boolean, text, text, text) to app_worker;
