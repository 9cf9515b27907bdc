drop function api.health();
