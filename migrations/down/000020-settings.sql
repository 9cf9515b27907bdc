drop function app_private.setting(text);
drop table app_private.settings;
