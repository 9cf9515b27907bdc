-- The definition of 000043, which read the attempt only before the invoice's lock.
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
