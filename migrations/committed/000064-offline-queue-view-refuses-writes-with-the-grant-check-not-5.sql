--! Previous: sha1:fa54568c12f5c2f091dc998ae11d74aa2ad4e191
--! Hash: sha1:51a38ba3df848d9bd91f047ef290dca7724be47d
--! Message: offline queue view refuses writes with the grant check, not 55000

-- Work in progress for the next migration (graphile-migrate `watch` applies it
-- on save; `npm run gm -- commit --message "..."` commits it). Write its down
-- script in migrations/down/ under the committed file's name.

-- api.websocket_message_queue (a view since 000051) refused a write with
-- PostgreSQL's "cannot delete from view" (55000), which PostgREST answers
-- with 500, before the privilege check. INSTEAD OF triggers make the view
-- writable in form only: PostgreSQL then checks the caller's grants first
-- (no API role may write it: 401/403 42501, like any read-only table), and
-- whoever has the grants (the owner) still gets a clear refusal.

create function app_hidden.tg_websocket_message_queue__read_only() returns trigger
  language plpgsql
  set search_path to pg_catalog, pg_temp
as $$
begin
  perform app_hidden.raise_error('FORBIDDEN',
    'The offline queue is read only: the realtime sources fill it and the hub empties it.', 403);
  return null;
end;
$$;
comment on function app_hidden.tg_websocket_message_queue__read_only() is
  E'INSTEAD OF trigger of api.websocket_message_queue: every write is refused (FORBIDDEN). It exists so that PostgreSQL checks the caller''s grants (none for writes) instead of answering a write to the view with 55000.';
revoke execute on function app_hidden.tg_websocket_message_queue__read_only() from public;

create trigger _100_read_only instead of insert or update or delete on api.websocket_message_queue
  for each row execute function app_hidden.tg_websocket_message_queue__read_only();
