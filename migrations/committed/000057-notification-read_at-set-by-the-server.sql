--! Previous: sha1:b508b8060e10b2697f51ac5015207d01922fe2b4
--! Hash: sha1:6601bc42e367db01cfbe1aeb621b4593194f87a7
--! Message: notification read_at set by the server

-- Work in progress for the next migration (graphile-migrate `watch` applies it
-- on save; `npm run gm -- commit --message "..."` commits it). Write its down
-- script in migrations/down/ under the committed file's name.

-- A notification's read_at is the server's: a client could set it to any
-- date with PATCH /real_time_notifications {read: true, read_at: "2099-…"}.
-- Now a trigger sets it whenever read changes (the time it became true;
-- null when a worker marks it unread again), and no API role may write the
-- column: a PATCH naming read_at is refused as any column without a grant
-- is (403 42501), so a client learns that the date is not its to give.

create function app_private.tg_real_time_notifications__set_read_at() returns trigger
  language plpgsql
  set search_path to pg_catalog, pg_temp
as $$
begin
  new.read_at := case
    when not new.read then null
    when old.read then old.read_at
    else now()
  end;
  return new;
end;
$$;
comment on function app_private.tg_real_time_notifications__set_read_at() is
  'BEFORE UPDATE trigger (_100_read_at) of api.real_time_notifications: read_at is the time read became true (kept while it stays read, null when unread), whoever updates the row and whatever read_at the update names.';

create trigger _100_read_at before update on api.real_time_notifications
  for each row execute function app_private.tg_real_time_notifications__set_read_at();

revoke update (read_at) on api.real_time_notifications from app_client, app_worker;

comment on column api.real_time_notifications.read_at is
  'When the user marked it read: set by the server (trigger _100_read_at) when read becomes true; no API role may write it.';
