drop function api.midtrans_notification(jsonb);
drop table api.payment_notifications;
