drop function app_private.enforce_user_rate_limit(text);
drop function app_private.count_rate_limited(text, text);
drop function app_private.rate_limit_exceeded(text, text);
drop table app_private.rate_limit_events;
drop table app_private.rate_limits;
