-- No realtime sources: the outbox gets no rows from triggers, nothing NOTIFYs realtime.
drop trigger _900_realtime on api.real_time_notifications;
drop function app_private.tg_real_time_notifications__realtime_notification();
drop trigger _900_realtime on api.invoices;
drop function app_private.tg_invoices__realtime_payment_received();
drop trigger _900_realtime on api.projects;
drop function app_private.tg_projects__realtime_project_update();
