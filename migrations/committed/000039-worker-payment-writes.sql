--! Previous: sha1:4f2125043b49c07f98066bdc78d41eb8efb6ef01
--! Hash: sha1:f607c337909baa12c8765163131fd1bc41a693fa
--! Message: worker payment writes

-- What the worker writes after talking to Midtrans, one function per step,
-- each in one transaction and idempotent (jobs run at least once).

create function app_hidden.record_qris_charge(
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
revoke execute on function app_hidden.record_qris_charge(uuid, text, text, timestamptz, text) from public;
grant execute on function app_hidden.record_qris_charge(uuid, text, text, timestamptz, text) to app_worker;

create function app_hidden.apply_payment_status(
  order_id text,
  transaction_status text,
  fraud_status text default null,
  settled_at timestamptz default null
) returns text
  language plpgsql volatile security definer
  set search_path to pg_catalog, pg_temp
as $$
declare
  attempt api.payment_attempts;
  inv api.invoices;
  proj api.projects;
  target api.invoice_status;
  action api.audit_action;
begin
  select * into attempt from api.payment_attempts a where a.order_id = apply_payment_status.order_id;
  if not found then
    return 'unknown_order';
  end if;
  select i.* into inv from api.invoices i where i.id = attempt.invoice_id for update;
  select p.* into proj from api.projects p where p.id = inv.project_id;
  update api.payment_attempts a set midtrans_status = apply_payment_status.transaction_status
   where a.id = attempt.id and a.midtrans_status is distinct from apply_payment_status.transaction_status;
  target := case
    when transaction_status = 'settlement' then 'paid'
    when transaction_status = 'capture' and coalesce(fraud_status, 'accept') = 'accept' then 'paid'
    when transaction_status in ('deny', 'failure') then 'failed'
    when transaction_status = 'expire' then 'expired'
    when transaction_status = 'cancel' then 'cancelled'
    when transaction_status = 'refund' then 'refunded'
    when transaction_status = 'partial_refund' then 'partial_refunded'
  end::api.invoice_status;
  -- Only the invoice's current charge moves it, except a settlement: money
  -- taken on an earlier QR still pays the invoice.
  if target is null or inv.status = target
     or (inv.midtrans_order_id is distinct from attempt.order_id and target <> 'paid')
     or not app_hidden.invoice_transition_allowed(inv.status, target) then
    return 'unchanged';
  end if;
  update api.invoices i
     set status = target,
         paid_at = case when target = 'paid' then coalesce(apply_payment_status.settled_at, now()) else i.paid_at end,
         midtrans_order_id = case when target = 'paid' then attempt.order_id else i.midtrans_order_id end
   where i.id = inv.id;
  action := case when target = 'paid' then 'PAYMENT_SUCCESS' when target in ('failed', 'expired', 'cancelled') then 'PAYMENT_FAILED' else 'UPDATE' end;
  insert into api.audit_logs (user_id, action, resource, resource_id, old_values, new_values)
    values (proj.user_id, action, 'invoices', inv.id::text, jsonb_build_object('status', inv.status),
            jsonb_build_object('status', target, 'order_id', attempt.order_id, 'transaction_status', transaction_status));
  if target = 'paid' then
    if proj.status = 'pending_payment' then
      update api.projects p set status = 'in_progress' where p.id = proj.id;
    end if;
    insert into api.real_time_notifications (user_id, type, title, message, payload, priority)
      select u.id, 'payment_received',
             case when u.id = proj.user_id then 'Pembayaran diterima' else 'Pembayaran masuk' end,
             case when u.id = proj.user_id
                  then format('Pembayaran untuk %s sudah kami terima. Pengerjaan dimulai.', proj.name)
                  else format('Invoice %s untuk %s dibayar (Rp %s).', inv.id, proj.name, to_char(inv.amount, 'FM999G999G999')) end,
             jsonb_build_object('invoice_id', inv.id, 'project_id', proj.id, 'order_id', attempt.order_id),
             'high'
        from api.users u where u.id = proj.user_id or u.role = 'admin';
  elsif target in ('failed', 'expired') then
    insert into api.real_time_notifications (user_id, type, title, message, payload, priority)
      values (proj.user_id, 'payment_received',
              case when target = 'failed' then 'Pembayaran gagal' else 'Kode QR kedaluwarsa' end,
              format('Pembayaran untuk %s belum berhasil. Silakan bayar lagi untuk mendapatkan kode QR baru.', proj.name),
              jsonb_build_object('invoice_id', inv.id, 'project_id', proj.id, 'status', target), 'medium');
  end if;
  return target::text;
end;
$$;
comment on function app_hidden.apply_payment_status(text, text, text, timestamptz) is
  E'The worker applies a status that Midtrans'' status API confirmed for an order: settlement (or capture accepted) → paid with paid_at and the project in_progress, the client and every admin notified, PAYMENT_SUCCESS audited; deny/failure → failed, expire → expired, cancel → cancelled (PAYMENT_FAILED, client notified); refund → refunded, partial_refund → partial_refunded. Stale, duplicate or out-of-order statuses change nothing (the invoice life cycle decides). Returns the new invoice status, ''unchanged'' or ''unknown_order''. SECURITY DEFINER only to notify the admins, whom the worker may not list; executable by app_worker alone.';
revoke execute on function app_hidden.apply_payment_status(text, text, text, timestamptz) from public;
grant execute on function app_hidden.apply_payment_status(text, text, text, timestamptz) to app_worker;
