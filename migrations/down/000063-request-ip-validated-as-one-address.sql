-- Undo 000052: app_hidden.request_ip() takes the first X-Forwarded-For entry
-- as it is again (000021's definition).
create or replace function app_hidden.request_ip() returns text
  language sql stable parallel safe
  set search_path to pg_catalog, pg_temp
as $$
  select left(coalesce(
    nullif(btrim(split_part(app_hidden.request_header('x-forwarded-for'), ',', 1)), ''),
    host(inet_client_addr())), 100);
$$;
comment on function app_hidden.request_ip() is E'Client address: the first X-Forwarded-For entry (set by the reverse proxy), else the connection''s address.';
