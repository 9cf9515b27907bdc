drop function api.set_project_credentials(uuid, json);
drop function api.project_credentials(uuid);
drop function app_private.credentials_key();
drop function api.mark_notifications_read(uuid[]);
