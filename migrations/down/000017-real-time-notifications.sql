drop table api.real_time_notifications;
drop type api.notification_priority;
drop type api.notification_type;
