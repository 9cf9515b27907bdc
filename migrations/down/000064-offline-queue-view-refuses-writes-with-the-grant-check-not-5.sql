-- The offline queue view without its INSTEAD OF trigger (writes fail with 55000 again).
drop trigger _100_read_only on api.websocket_message_queue;
drop function app_hidden.tg_websocket_message_queue__read_only();
