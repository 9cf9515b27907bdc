drop function api.set_project_status(uuid, text);
drop function api.cancel_project(uuid);
drop function api.create_project(text, text);
drop function app_private.visible_project(uuid);
drop trigger _200_status_transition on api.projects;
drop function app_private.tg_projects__check_status_transition();
