drop function api.pay_invoice(uuid);
delete from app_private.rate_limit_events where bucket like 'pay_invoice:%';
delete from app_private.rate_limits where action = 'pay_invoice';
drop table api.payment_attempts;
revoke update (qris_expires_at) on api.invoices from app_worker;
alter table api.invoices drop column qris_expires_at;
