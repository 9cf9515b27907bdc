--! Previous: sha1:65ddf8ad4ed27791964cfc3e0be8e1e755505ad0
--! Hash: sha1:e577deeca7d326e011de93bdfad3427d98643eb1
--! Message: worker partition upkeep through app_hidden

-- The worker logs in as app_worker, which cannot use app_private: partition
-- upkeep, the one piece of app_private it runs, is reached through this
-- wrapper. It acts as the owner (the partitions are the owner's tables);
-- the EXECUTE grant to app_worker alone is its check.
create function app_hidden.maintain_partitions() returns jsonb
  language sql volatile security definer
  set search_path to pg_catalog, pg_temp
as $$
  select app_private.maintain_partitions();
$$;
comment on function app_hidden.maintain_partitions() is
  E'The worker''s entry to monthly partition upkeep (app_private.maintain_partitions): creates the coming months'' partitions of audit_logs and websocket_events and applies retention. Executable by app_worker only.';
revoke execute on function app_hidden.maintain_partitions() from public;
grant execute on function app_hidden.maintain_partitions() to app_worker;
