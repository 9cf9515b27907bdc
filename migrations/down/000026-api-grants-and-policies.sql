revoke execute on function app_hidden.pre_request() from authenticator;
revoke usage on schema app_hidden from authenticator;

drop policy select_all_admin on api.websocket_message_queue;
drop policy worker_all on api.websocket_message_queue;
revoke all on api.websocket_message_queue from app_worker, app_admin;

drop policy select_all_admin on api.websocket_events;
drop policy worker_all on api.websocket_events;
revoke all on api.websocket_events from app_worker, app_admin;

drop policy select_all_admin on api.websocket_room_memberships;
drop policy worker_all on api.websocket_room_memberships;
revoke all on api.websocket_room_memberships from app_worker, app_admin;

drop policy select_all_admin on api.websocket_connections;
drop policy worker_all on api.websocket_connections;
revoke all on api.websocket_connections from app_worker, app_admin;

drop policy worker_all on api.real_time_notifications;
drop policy manage_admin on api.real_time_notifications;
drop policy update_own on api.real_time_notifications;
drop policy select_own on api.real_time_notifications;
revoke all on api.real_time_notifications from app_client, app_admin, app_worker;

drop policy insert_worker on api.audit_logs;
drop policy select_all_admin on api.audit_logs;
revoke all on api.audit_logs from app_admin, app_worker;

drop policy manage_admin on api.pages;
drop policy manage_admin on api.posts;
drop policy manage_admin on api.faqs;
drop policy manage_admin on api.pricing_plans;
drop policy manage_admin on api.templates;
alter policy select_all_public on api.pages to web_anon;
alter policy select_published_public on api.posts to web_anon;
alter policy select_active_public on api.faqs to web_anon;
alter policy select_active_public on api.pricing_plans to web_anon;
alter policy select_all_public on api.templates to web_anon;
revoke all on api.templates, api.pricing_plans, api.faqs, api.posts, api.pages from app_client, app_admin;

drop policy worker_all on api.invoices;
drop policy select_all_admin on api.invoices;
drop policy select_own on api.invoices;
revoke all on api.invoices from app_client, app_admin, app_worker;

drop policy worker_all on api.projects;
drop policy delete_all_admin on api.projects;
drop policy update_all_admin on api.projects;
drop policy select_all_admin on api.projects;
drop policy update_own on api.projects;
drop policy select_own on api.projects;
revoke all on api.projects from app_client, app_admin, app_worker;

drop policy delete_all_admin on api.users;
drop policy update_all_admin on api.users;
drop policy select_all_admin on api.users;
drop policy update_own on api.users;
drop policy select_own on api.users;
revoke all on api.users from app_client, app_admin;
