drop table api.websocket_room_memberships;
drop table api.websocket_connections;
