-- No database checks for the WebSocket hub.
drop function app_hidden.realtime_may_join_project(uuid, uuid);
drop function app_hidden.realtime_token_status(uuid, uuid, text);
