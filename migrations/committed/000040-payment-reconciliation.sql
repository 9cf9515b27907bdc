--! Previous: sha1:f607c337909baa12c8765163131fd1bc41a693fa
--! Hash: sha1:7b229a6ee764aff8be5d0f0201223873c0f9cc7d
--! Message: payment reconciliation

-- Reconciliation: no payment is lost when a notification never arrives or a
-- worker dies mid-charge (graphile-worker 0.17 leaves a SIGKILLed worker's
-- job locked for hours). On a schedule, every current payment attempt of a
-- pending invoice that has waited too long gets its job queued again:
-- confirmation through the status API when Midtrans has the charge, the
-- charge itself when it was never recorded (the order id is the same, so
-- Midtrans' duplicate check keeps it to one charge). add_job with the same
-- key replaces a waiting job, and beside a locked (possibly dead) one it
-- queues a fresh job.
create function app_hidden.queue_payment_reconciliation(
  confirm_after interval default interval '5 minutes',
  charge_after interval default interval '1 minute'
) returns integer
  language plpgsql volatile
  set search_path to pg_catalog, pg_temp
as $$
declare
  r record;
  queued integer := 0;
begin
  for r in
    select a.id, a.order_id, a.midtrans_transaction_id is not null as charged
      from api.invoices i join api.payment_attempts a on a.order_id = i.midtrans_order_id
     where i.status = 'pending'
       and ((a.midtrans_transaction_id is not null and a.updated_at < now() - confirm_after)
         or (a.midtrans_transaction_id is null and a.created_at < now() - charge_after))
  loop
    if r.charged then
      perform graphile_worker.add_job('invoices__confirm_payment', json_build_object('order_id', r.order_id),
        job_key => 'invoices__confirm_payment:' || r.order_id);
    else
      perform graphile_worker.add_job('invoices__create_qris_payment', json_build_object('attempt_id', r.id),
        job_key => 'invoices__create_qris_payment:' || r.order_id);
    end if;
    queued := queued + 1;
  end loop;
  return queued;
end;
$$;
comment on function app_hidden.queue_payment_reconciliation(interval, interval) is
  E'Run by the worker''s invoices__reconcile schedule: for each pending invoice''s current payment attempt that waited too long, queues its confirmation through the status API (charged: after confirm_after without news) or its charge again (never recorded: after charge_after). Recovers lost notifications and the work of dead workers; returns how many jobs it queued. SECURITY INVOKER: the worker''s grants cover it.';
revoke execute on function app_hidden.queue_payment_reconciliation(interval, interval) from public;
grant execute on function app_hidden.queue_payment_reconciliation(interval, interval) to app_worker;
