drop table app_private.project_secrets;
drop table api.projects;
drop type api.project_status;
drop type api.project_type;
