drop function app_hidden.finish_invoice_cancel(uuid, uuid, text, text, text, timestamptz);
drop function api.cancel_invoice(uuid);
delete from app_private.rate_limit_events where bucket like 'cancel_invoice:%';
delete from app_private.rate_limits where action = 'cancel_invoice';
drop function app_private.notify_invoice_cancelled(uuid);
-- record_qris_charge as 000039 made it (no cancel of a charge that landed late).
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
  end if;
  return true;
end;
$$;
comment on function app_hidden.record_qris_charge(uuid, text, text, timestamptz, text) is
  E'The worker records a Midtrans QRIS charge: the attempt''s transaction, QR and expiry; and, when the attempt is still the invoice''s current charge, the invoice''s QR, PAYMENT_INIT in the audit log and a notification for the client. Returns false when there was nothing new (a repeated job). Runs as the worker (SECURITY INVOKER): its grants cover every write.';
