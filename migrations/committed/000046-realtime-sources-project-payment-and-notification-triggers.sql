--! Previous: sha1:8b66d82659fa6b6728d6002e0178fe9f605b3b32
--! Hash: sha1:06b4ff1073d851d1ad10a24be47001e5334d1e4c
--! Message: realtime sources: project, payment and notification triggers

-- The realtime sources in the database: statement-level triggers that write
-- the outbox (app_private.realtime_messages) in the transaction of the
-- change, one row per changed row, and wake the hub with one NOTIFY on
-- channel realtime per transaction and event.
--
-- Why statement-level with transition tables: a bulk change writes all its
-- messages in one INSERT. Why the NOTIFY payload is the event name alone:
-- PostgreSQL delivers identical payloads on one channel once per
-- transaction, and every notifying commit takes a cluster-wide lock, so a
-- bulk change of N rows (or N statements) costs one notification, never N;
-- the hub reads what changed from the outbox. The payload is a few bytes,
-- far below NOTIFY's 8000-byte limit, however large the change.

create function app_private.tg_projects__realtime_project_update() returns trigger
  language plpgsql volatile security definer
  set search_path to pg_catalog, pg_temp
as $$
begin
  insert into app_private.realtime_messages (event, rooms, payload, priority)
  select 'project_update', array['user:' || n.user_id, 'project:' || n.id, 'admin'],
         jsonb_build_object('project_id', n.id, 'status', n.status, 'previous_status', o.status), 'medium'
    from new_rows n join old_rows o on o.id = n.id
   where n.status is distinct from o.status
   order by n.id;
  if found then
    perform pg_notify('realtime', 'project_update');
  end if;
  return null;
end;
$$;
comment on function app_private.tg_projects__realtime_project_update() is
  E'AFTER UPDATE statement trigger (_900_realtime) of api.projects: one project_update outbox message per project whose status changed, for its owner (user:<owner>), its room (project:<id>) and the admins, payload {project_id, status, previous_status}; then NOTIFY realtime ''project_update'' (once per transaction, however many rows). SECURITY DEFINER because the writers (admin, worker) cannot write app_private.';
create trigger _900_realtime after update on api.projects
  referencing old table as old_rows new table as new_rows
  for each statement execute function app_private.tg_projects__realtime_project_update();

create function app_private.tg_invoices__realtime_payment_received() returns trigger
  language plpgsql volatile security definer
  set search_path to pg_catalog, pg_temp
as $$
begin
  insert into app_private.realtime_messages (event, rooms, payload, priority)
  select 'payment_received', array['user:' || p.user_id, 'project:' || p.id, 'admin'],
         jsonb_build_object('invoice_id', n.id, 'project_id', n.project_id), 'high'
    from new_rows n
    join old_rows o on o.id = n.id
    join api.projects p on p.id = n.project_id
   where n.status = 'paid' and o.status <> 'paid'
   order by n.id;
  if found then
    perform pg_notify('realtime', 'payment_received');
  end if;
  return null;
end;
$$;
comment on function app_private.tg_invoices__realtime_payment_received() is
  E'AFTER UPDATE statement trigger (_900_realtime) of api.invoices: one payment_received outbox message (priority high) per invoice that became paid, for the project''s owner (user:<owner>), the project''s room and the admins, payload {invoice_id, project_id}; then NOTIFY realtime ''payment_received'' (once per transaction). SECURITY DEFINER because the writer (the worker) cannot write app_private.';
create trigger _900_realtime after update on api.invoices
  referencing old table as old_rows new table as new_rows
  for each statement execute function app_private.tg_invoices__realtime_payment_received();

create function app_private.tg_real_time_notifications__realtime_notification() returns trigger
  language plpgsql volatile security definer
  set search_path to pg_catalog, pg_temp
as $$
begin
  insert into app_private.realtime_messages (event, rooms, payload, priority)
  select 'notification', array['user:' || n.user_id], jsonb_build_object('notification_id', n.id), n.priority
    from new_rows n
   order by n.created_at, n.id;
  if found then
    perform pg_notify('realtime', 'notification');
  end if;
  return null;
end;
$$;
comment on function app_private.tg_real_time_notifications__realtime_notification() is
  E'AFTER INSERT statement trigger (_900_realtime) of api.real_time_notifications: one notification outbox message per new row, for its user (user:<id>) alone, with the notification''s priority, payload {notification_id}; then NOTIFY realtime ''notification'' (once per transaction). SECURITY DEFINER because the writers (admin, worker, business functions) cannot write app_private.';
create trigger _900_realtime after insert on api.real_time_notifications
  referencing new table as new_rows
  for each statement execute function app_private.tg_real_time_notifications__realtime_notification();
