--! Previous: sha1:f72f9c97f9c6afc5c1ad59796df1c7fa718c697d
--! Hash: sha1:2278c0815fc25a974502c51e7f328d549fb50267
--! Message: cancel invoice

-- Cancelling an invoice. Without a live Midtrans charge (unpaid, failed,
-- expired) the database cancels it at once. With a pending charge the
-- worker cancels it at Midtrans first (invoices__cancel_payment, queued in
-- the same transaction) and the invoice takes whatever the status API then
-- says: cancelled, or paid when the payer was quicker. A charge that lands
-- at Midtrans after its invoice was cancelled (or moved to another charge)
-- is itself cancelled at Midtrans: record_qris_charge now queues that.

create function app_private.notify_invoice_cancelled(invoice_id uuid) returns void
  language sql volatile
  set search_path to pg_catalog, pg_temp
begin atomic
  insert into api.real_time_notifications (user_id, type, title, message, payload, priority)
    select p.user_id, 'payment_received'::api.notification_type, 'Invoice dibatalkan',
           format('Invoice untuk %s dibatalkan; tidak ada yang perlu dibayar.', p.name),
           jsonb_build_object('invoice_id', i.id, 'project_id', p.id, 'status', 'cancelled'), 'medium'::api.notification_priority
      from api.invoices i join api.projects p on p.id = i.project_id
     where i.id = notify_invoice_cancelled.invoice_id
       and not exists (
         select 1 from api.real_time_notifications n
          where n.user_id = p.user_id and n.title = 'Invoice dibatalkan' and n.payload ->> 'invoice_id' = i.id::text);
end;
comment on function app_private.notify_invoice_cancelled(uuid) is
  E'Tells an invoice''s owner, once, that it was cancelled (one real_time_notifications row; none if the owner was told already). Used by api.cancel_invoice and app_hidden.finish_invoice_cancel.';

insert into app_private.rate_limits (action, max_count, window_seconds) values ('cancel_invoice', 60, 3600);

create function api.cancel_invoice(invoice_id uuid) returns api.invoices
  language plpgsql volatile security definer
  set search_path to pg_catalog, pg_temp
as $$
declare
  caller uuid := app_hidden.require_user_id();
  is_admin constant boolean := app_hidden.current_user_is_admin();
  inv api.invoices;
begin
  if invoice_id is null then
    perform app_hidden.raise_error('INVALID_INPUT', 'invoice_id is required.', 400);
  end if;
  select i.* into inv from api.invoices i join api.projects p on p.id = i.project_id
   where i.id = cancel_invoice.invoice_id and (is_admin or p.user_id = caller)
   for update of i;
  if not found then
    perform app_hidden.raise_error('INVOICE_NOT_FOUND', 'There is no such invoice among yours.', 404);
  end if;
  if inv.status not in ('unpaid', 'pending', 'failed', 'expired') then
    perform app_hidden.raise_error('INVOICE_NOT_CANCELLABLE',
      format('An invoice that is %s cannot be cancelled%s.', inv.status,
             case when inv.status in ('paid', 'partial_refunded') then ' (an admin can refund it)' else '' end), 409,
      format('status %s', inv.status));
  end if;
  if not is_admin and inv.status not in ('unpaid', 'pending') then
    perform app_hidden.raise_error('FORBIDDEN', format('Only an admin may cancel an invoice that is %s.', inv.status), 403);
  end if;
  perform app_private.enforce_user_rate_limit('cancel_invoice');
  if inv.status = 'pending' then
    -- A charge is live (or on its way) at Midtrans: the worker cancels it
    -- there and applies what the status API says. One job per invoice.
    perform graphile_worker.add_job('invoices__cancel_payment',
      json_build_object('invoice_id', inv.id, 'requested_by', caller),
      job_key => 'invoices__cancel_payment:' || inv.id);
    return inv;
  end if;
  update api.invoices i set status = 'cancelled' where i.id = inv.id returning * into inv;
  perform app_private.notify_invoice_cancelled(inv.id);
  return inv;
end;
$$;
comment on function api.cancel_invoice(uuid) is
  E'Cancels an invoice: its owner while it is unpaid or pending, an admin while it is unpaid, pending, failed or expired. Without a live Midtrans charge it is cancelled at once (audited, the owner notified); a pending one stays pending until the worker has cancelled the charge at Midtrans (invoices__cancel_payment), then becomes cancelled, or paid if the payer paid first (the requester is told). Returns the invoice. SECURITY DEFINER: it queues the job and changes the status, which callers may not. Errors: NOT_AUTHENTICATED (401), INVALID_INPUT (400), FORBIDDEN (403: the owner of a failed or expired invoice), INVOICE_NOT_FOUND (404, also someone else''s), INVOICE_NOT_CANCELLABLE (409: paid, refunded or already cancelled), RATE_LIMITED (429).';
grant execute on function api.cancel_invoice(uuid) to app_client, app_admin;

create function app_hidden.finish_invoice_cancel(
  invoice_id uuid,
  requested_by uuid,
  order_id text default null,
  transaction_status text default null,
  fraud_status text default null,
  settled_at timestamptz default null
) returns text
  language plpgsql volatile security definer
  set search_path to pg_catalog, pg_temp
as $$
declare
  inv api.invoices;
begin
  select i.* into inv from api.invoices i where i.id = finish_invoice_cancel.invoice_id for update;
  if not found then
    return 'unknown_invoice';
  end if;
  if transaction_status is not null then
    perform app_hidden.apply_payment_status(order_id, transaction_status, fraud_status, settled_at);
    select i.* into inv from api.invoices i where i.id = inv.id;
    -- Cancelled by this answer, or already by the confirmation of Midtrans'
    -- cancel notification, which may have run first.
    if inv.status = 'cancelled' then
      perform app_private.notify_invoice_cancelled(inv.id);
      return 'cancelled';
    end if;
  end if;
  -- No live charge left: a failed or expired one, or one Midtrans never got.
  if inv.status in ('failed', 'expired', 'unpaid')
     or (inv.status = 'pending' and transaction_status is null and inv.midtrans_order_id is not distinct from order_id) then
    update api.invoices i set status = 'cancelled' where i.id = inv.id;
    perform app_private.notify_invoice_cancelled(inv.id);
    return 'cancelled';
  end if;
  if inv.status in ('paid', 'partial_refunded', 'refunded') and requested_by is not null then
    insert into api.real_time_notifications (user_id, type, title, message, payload, priority)
      values (requested_by, 'payment_received', 'Pembatalan tidak dilakukan',
              'Invoice ini sudah dibayar sebelum pembatalan sampai ke Midtrans; pembayaran tetap tercatat.',
              jsonb_build_object('invoice_id', inv.id, 'status', inv.status), 'high');
  end if;
  return inv.status::text;
end;
$$;
comment on function app_hidden.finish_invoice_cancel(uuid, uuid, text, text, text, timestamptz) is
  E'The worker finishes a cancel_invoice after asking Midtrans to cancel the charge: applies the status API''s answer for the order (apply_payment_status), and cancels the invoice itself when no live charge is left (failed, expired, or an order Midtrans does not know: transaction_status null). A cancelled invoice''s owner is notified; when the payer paid first the invoice stays paid and the requester is told. Returns the invoice''s status (pending: Midtrans still has a pending charge, so the worker tries again) or ''unknown_invoice''. SECURITY DEFINER: it calls apply_payment_status; executable by app_worker alone.';
revoke execute on function app_hidden.finish_invoice_cancel(uuid, uuid, text, text, text, timestamptz) from public;
grant execute on function app_hidden.finish_invoice_cancel(uuid, uuid, text, text, text, timestamptz) to app_worker;

create or replace function app_hidden.record_qris_charge(
  attempt_id uuid,
  transaction_id text,
  qris_url text,
  expires_at timestamptz,
  midtrans_status text default 'pending'
) returns boolean
  language plpgsql volatile
  set search_path to pg_catalog, pg_temp
as $$
declare
  attempt api.payment_attempts;
  inv api.invoices;
  owner_id uuid;
begin
  select * into attempt from api.payment_attempts a where a.id = record_qris_charge.attempt_id;
  if not found then
    return false;
  end if;
  select i.* into inv from api.invoices i where i.id = attempt.invoice_id for update;
  if attempt.midtrans_transaction_id is not null then
    return false; -- recorded by an earlier run of the job
  end if;
  update api.payment_attempts a
     set midtrans_transaction_id = record_qris_charge.transaction_id, midtrans_status = record_qris_charge.midtrans_status,
         qris_url = record_qris_charge.qris_url, expires_at = record_qris_charge.expires_at
   where a.id = attempt.id;
  -- The invoice shows the QR only while this attempt is its current charge.
  if inv.midtrans_order_id = attempt.order_id and inv.status = 'pending' then
    update api.invoices i set qris_url = record_qris_charge.qris_url, qris_expires_at = record_qris_charge.expires_at
     where i.id = inv.id;
    select p.user_id into owner_id from api.projects p where p.id = inv.project_id;
    insert into api.audit_logs (user_id, action, resource, resource_id, new_values)
      values (owner_id, 'PAYMENT_INIT', 'invoices', inv.id::text,
              jsonb_build_object('order_id', attempt.order_id, 'transaction_id', record_qris_charge.transaction_id,
                                 'amount', inv.amount, 'expires_at', record_qris_charge.expires_at));
    insert into api.real_time_notifications (user_id, type, title, message, payload, priority)
      values (owner_id, 'payment_received', 'QRIS siap dibayar',
              format('Pindai kode QR untuk membayar Rp %s sebelum %s WIB.', to_char(inv.amount, 'FM999G999G999'),
                     to_char(record_qris_charge.expires_at at time zone 'Asia/Jakarta', 'DD-MM-YYYY HH24:MI')),
              jsonb_build_object('invoice_id', inv.id, 'qris_url', record_qris_charge.qris_url,
                                 'expires_at', record_qris_charge.expires_at),
              'high');
  elsif record_qris_charge.midtrans_status = 'pending'
        and (inv.midtrans_order_id is distinct from attempt.order_id or inv.status = 'cancelled') then
    -- The charge landed after its invoice was cancelled or moved to another
    -- charge: it must not stay payable. Cancel it at Midtrans.
    perform graphile_worker.add_job('invoices__cancel_payment', json_build_object('order_id', attempt.order_id),
      job_key => 'invoices__cancel_payment:' || attempt.order_id);
  end if;
  return true;
end;
$$;
comment on function app_hidden.record_qris_charge(uuid, text, text, timestamptz, text) is
  E'The worker records a Midtrans QRIS charge: the attempt''s transaction, QR and expiry; and, when the attempt is still the invoice''s current charge, the invoice''s QR, PAYMENT_INIT in the audit log and a notification for the client. A pending charge that is no longer its invoice''s current one (the invoice was cancelled, or charged anew, while the charge was in flight) gets invoices__cancel_payment queued, so it never stays payable. Returns false when there was nothing new (a repeated job). Runs as the worker (SECURITY INVOKER): its grants cover every write.';
