--! Previous: sha1:843f7cc4a887ceb6735ec5b77ee8bac02e862cef
--! Hash: sha1:74a0a5b602343cb0287bd0c20320496516ad4347
--! Message: invoice state machine

-- The invoice state machine, enforced for every path (RPC, worker, SQL):
-- a status moves only along the payment life cycle. A new charge makes an
-- unpaid, failed or expired invoice pending; Midtrans' confirmed outcome
-- makes a pending invoice paid, failed, expired or cancelled; refunds follow
-- payment. Inserts are not checked (only the owner inserts invoices, e.g.
-- create_project with 'unpaid').
create function app_hidden.invoice_transition_allowed(from_status api.invoice_status, to_status api.invoice_status)
  returns boolean
  language sql immutable parallel safe
  set search_path to pg_catalog, pg_temp
begin atomic
  select (from_status, to_status) in (
    ('unpaid', 'pending'), ('unpaid', 'cancelled'),
    ('pending', 'paid'), ('pending', 'failed'), ('pending', 'expired'), ('pending', 'cancelled'),
    ('failed', 'pending'), ('failed', 'cancelled'),
    ('expired', 'pending'), ('expired', 'cancelled'),
    ('paid', 'refunded'), ('paid', 'partial_refunded'),
    ('partial_refunded', 'refunded'));
end;
comment on function app_hidden.invoice_transition_allowed(api.invoice_status, api.invoice_status) is
  E'The invoice life cycle: unpaid → pending | cancelled; pending → paid | failed | expired | cancelled; failed, expired → pending (paid again with a new order id) | cancelled; paid → refunded | partial_refunded; partial_refunded → refunded. cancelled and refunded are final.';
grant execute on function app_hidden.invoice_transition_allowed(api.invoice_status, api.invoice_status)
  to web_anon, app_client, app_admin, app_worker;

create function app_private.tg_invoices__check_status_transition() returns trigger
  language plpgsql
  set search_path to pg_catalog, pg_temp
as $$
begin
  if new.status = old.status or app_hidden.invoice_transition_allowed(old.status, new.status) then
    return new;
  end if;
  perform app_hidden.raise_error('ILLEGAL_TRANSITION', format('An invoice cannot go from %s to %s.', old.status, new.status), 409,
    format('from %s to %s', old.status, new.status));
  return null;
end;
$$;
comment on function app_private.tg_invoices__check_status_transition() is
  E'Invoice life cycle (app_hidden.invoice_transition_allowed), enforced for every update path. Anything else: ILLEGAL_TRANSITION (409).';

create trigger _200_status_transition before update of status on api.invoices
  for each row execute function app_private.tg_invoices__check_status_transition();
