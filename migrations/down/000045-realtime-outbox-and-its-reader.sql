-- No realtime outbox, no reader.
drop function app_hidden.prune_realtime_messages();
drop function app_hidden.realtime_messages_after(jsonb, integer);
drop table app_private.realtime_messages;
