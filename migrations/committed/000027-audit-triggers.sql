--! Previous: sha1:c67ca6db5e0757fe2989c6d7b2227a758d12c842
--! Hash: sha1:b7297da9c9613d82ea57349093686fab367cf336
--! Message: audit triggers

-- The audit trail of every business table, written by one generic trigger
-- in the transaction of the change itself: a rolled-back change leaves no
-- audit row, and a committed one always has its row.

create function app_private.tg__audit() returns trigger
  language plpgsql volatile security definer
  set search_path to pg_catalog, pg_temp
as $$
declare
  -- Trigger arguments (optional): the resource name to record, and the
  -- column that identifies the row; by default the table name and id.
  audit_resource text := coalesce(tg_argv[0], tg_table_name);
  id_column text := coalesce(tg_argv[1], 'id');
  old_doc jsonb;
  new_doc jsonb;
  audit_action api.audit_action;
  actor uuid := app_hidden.current_user_id();
begin
  if tg_op in ('UPDATE', 'DELETE') then
    old_doc := to_jsonb(old);
  end if;
  if tg_op in ('INSERT', 'UPDATE') then
    new_doc := to_jsonb(new);
  end if;

  if tg_op = 'INSERT' then
    audit_action := 'CREATE';
  elsif tg_op = 'DELETE' then
    audit_action := 'DELETE';
  else
    -- updated_at is bumped by the _100_timestamps trigger on every UPDATE,
    -- even one that changes nothing: it does not count as a change.
    if (old_doc - 'updated_at') = (new_doc - 'updated_at') then
      return null;
    end if;
    audit_action := case
      when tg_table_schema = 'api' and tg_table_name = 'users' and old_doc -> 'role' is distinct from new_doc -> 'role'
        then 'ROLE_CHANGE'
      else 'UPDATE' end;
  end if;

  -- A sign-up has no signed-in user yet: the account being created is the
  -- one acting (its users row and its credentials row).
  if actor is null and tg_op = 'INSERT' and audit_resource in ('users', 'user_credentials') then
    actor := (new_doc ->> id_column)::uuid;
  end if;

  perform app_private.write_audit(audit_action, audit_resource, coalesce(new_doc, old_doc) ->> id_column, old_doc, new_doc, actor);
  return null;
end;
$$;
comment on function app_private.tg__audit() is
  E'AFTER INSERT/UPDATE/DELETE row trigger (_500_audit) of the business tables: appends one audit_logs row per changed row, in the same transaction, through app_private.write_audit (actor from the JWT, IP and user agent from the request headers, secrets redacted). INSERT is CREATE, DELETE is DELETE, UPDATE is UPDATE, or ROLE_CHANGE when users.role changed; an UPDATE that changes nothing but updated_at writes nothing. Arguments: the resource name (default: the table name) and the id column (default: id). SECURITY DEFINER because the API roles cannot write audit_logs themselves. With no signed-in user, the insert of a users or user_credentials row is attributed to that user: it is the sign-up, the only way such a row appears without an admin.';

create trigger _500_audit after insert or update or delete on api.users
  for each row execute function app_private.tg__audit();
create trigger _500_audit after insert or update or delete on api.projects
  for each row execute function app_private.tg__audit();
create trigger _500_audit after insert or update or delete on api.invoices
  for each row execute function app_private.tg__audit();
create trigger _500_audit after insert or update or delete on api.templates
  for each row execute function app_private.tg__audit();
create trigger _500_audit after insert or update or delete on api.posts
  for each row execute function app_private.tg__audit();
create trigger _500_audit after insert or update or delete on api.pages
  for each row execute function app_private.tg__audit();
create trigger _500_audit after insert or update or delete on api.pricing_plans
  for each row execute function app_private.tg__audit();
create trigger _500_audit after insert or update or delete on api.faqs
  for each row execute function app_private.tg__audit();
-- The secrets tables are audited under the name of what they hold, keyed
-- by their owner's id; write_audit redacts the hash and the credentials.
create trigger _500_audit after insert or update or delete on app_private.project_secrets
  for each row execute function app_private.tg__audit('project_credentials', 'project_id');
create trigger _500_audit after insert or update or delete on app_private.user_secrets
  for each row execute function app_private.tg__audit('user_credentials', 'user_id');

-------------------------------------------------------------------------------
-- audit_logs is append-only, for every role including the table owner (the
-- API roles hold no UPDATE or DELETE grant on it at all; this trigger also
-- stops the owner and code running as it). Two writes are not changes of
-- the trail and stay allowed:
--   * the foreign key audit_logs_user_id_fkey (ON DELETE SET NULL) blanking
--     user_id when a user is deleted: only user_id changes, to null, and
--     that user no longer exists. Refusing it would make users undeletable.
--   * app_private.create_monthly_partitions moving rows that the default
--     partition caught into their new month's partition: it deletes them
--     from audit_logs_default and inserts them into the month's table,
--     which it created (not yet attached) in the same transaction.
-- Retention drops whole partitions (DROP TABLE), which row triggers do not
-- see: that is the one intended way rows leave the trail.

create function app_private.tg_audit_logs__append_only() returns trigger
  language plpgsql volatile security definer
  set search_path to pg_catalog, pg_temp
as $$
declare
  month_table regclass;
begin
  if tg_op = 'UPDATE'
     and old.user_id is not null and new.user_id is null
     and (to_jsonb(new) - 'user_id') = (to_jsonb(old) - 'user_id')
     and not exists (select 1 from api.users u where u.id = old.user_id) then
    return new;
  end if;
  if tg_op = 'DELETE' and tg_table_schema = 'app_private' and tg_table_name = 'audit_logs_default' then
    month_table := to_regclass(format('app_private.%I',
      app_private.partition_name('api.audit_logs', date_trunc('month', old."timestamp")::date)));
    if month_table is not null
       and not exists (select 1 from pg_inherits i where i.inhrelid = month_table) then
      return old;
    end if;
  end if;
  perform app_hidden.raise_error('AUDIT_LOG_APPEND_ONLY', 'Audit log rows cannot be changed or deleted.', 403);
  return null;
end;
$$;
comment on function app_private.tg_audit_logs__append_only() is
  E'BEFORE UPDATE OR DELETE row trigger of api.audit_logs (and, by inheritance, its partitions): refuses every change with AUDIT_LOG_APPEND_ONLY (403), except the user_id := null of the ON DELETE SET NULL foreign key after a user is deleted, and the partition maintenance moving rows out of the default partition into their month''s new partition.';

create trigger _100_append_only before update or delete on api.audit_logs
  for each row execute function app_private.tg_audit_logs__append_only();
