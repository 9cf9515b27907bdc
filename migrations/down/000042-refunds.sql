drop function app_hidden.record_refund_outcome(uuid, boolean, text, text, text);
drop function api.refund_invoice(uuid, text, numeric);
delete from app_private.rate_limit_events where bucket like 'refund_invoice:%';
delete from app_private.rate_limits where action = 'refund_invoice';
drop table api.refunds;
