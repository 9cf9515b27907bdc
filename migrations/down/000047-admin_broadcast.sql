-- No admin_broadcast. Its outbox messages stay (the outbox still accepts the
-- event) and so do its audit rows (append-only).
drop function api.admin_broadcast(text, text, api.notification_priority);
delete from app_private.rate_limit_events where bucket like 'admin\_broadcast:%';
delete from app_private.rate_limits where action = 'admin_broadcast';
