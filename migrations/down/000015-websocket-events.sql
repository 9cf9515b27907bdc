drop table api.websocket_events;
drop type api.websocket_event_type;
