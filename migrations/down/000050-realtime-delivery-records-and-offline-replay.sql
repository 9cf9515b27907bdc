-- No delivery records by message id and no offline replay. Event rows of
-- events the enum does not know (notification) are removed first.
drop function app_hidden.realtime_replay(uuid, integer);
drop function app_hidden.realtime_record_deliveries(jsonb, jsonb);
drop index app_private.realtime_messages_rooms_idx;
drop table app_private.realtime_deliveries;
drop index api.websocket_events_connection_id_message_id_idx;
alter table api.websocket_events drop column message_id;
alter table api.websocket_events drop constraint websocket_events_event_type_valid;
delete from api.websocket_events where event_type not in (
  'project_update', 'payment_received', 'system_alert', 'admin_broadcast', 'connection_status', 'heartbeat');
alter table api.websocket_events alter column event_type type api.websocket_event_type
  using event_type::api.websocket_event_type;
comment on column api.websocket_events.event_type is null;
