drop table app_private.user_secrets;
drop table api.users;
drop type api.user_role;
