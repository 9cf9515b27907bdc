drop table api.websocket_message_queue;
