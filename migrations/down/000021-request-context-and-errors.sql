drop function app_hidden.require_user_id();
drop function app_hidden.raise_error(text, text, integer, text, text);
drop function app_hidden.request_ip();
drop function app_hidden.request_header(text);
drop function app_hidden.current_user_is_admin();
drop function app_hidden.current_user_id();
drop function app_hidden.jwt_claims();
drop schema app_hidden;
