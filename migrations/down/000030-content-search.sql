drop function api.search_content(text, text, integer, integer);
