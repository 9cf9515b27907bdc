-- read_at written by whoever updates the row, as migration 000017 allowed.
comment on column api.real_time_notifications.read_at is E'When the user marked it read.';
grant update (read_at) on api.real_time_notifications to app_client, app_worker;
drop trigger _100_read_at on api.real_time_notifications;
drop function app_private.tg_real_time_notifications__set_read_at();
