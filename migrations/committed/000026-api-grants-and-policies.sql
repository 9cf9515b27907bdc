--! Previous: sha1:c99a06a47356efa16e6e5bdb7ff1d087da286fde
--! Hash: sha1:c67ca6db5e0757fe2989c6d7b2227a758d12c842
--! Message: api grants and policies

-- Who may do what through the API (README, "Access: who may do what", is the same matrix as
-- a table). Every grant is explicit and least privilege: insert and update
-- grants list their columns, so a column that is not listed cannot be
-- written at all (PostgREST answers 403 / 42501). Every grant is followed by
-- the small RLS policy that picks the rows it applies to; policies name
-- their role (TO ...) so the planner skips those of other roles.
--
-- Conventions in the policies:
--   * (select app_hidden.current_user_id()) is an init plan: evaluated once
--     per statement instead of once per row.
--   * rows reached through another table use x = any(array(select ...))
--     rather than a join or EXISTS, which also runs once per statement.
--   * every column a policy compares is indexed: users.id (primary key),
--     projects.user_id (projects_user_id_idx), invoices.project_id
--     (invoices_project_id_idx), real_time_notifications.user_id
--     (real_time_notifications_user_id_idx); no index was missing.
--
-- Where the issue names only commands, the column lists follow what a
-- production PostgREST / Supabase project does: the database fills ids and
-- creation timestamps (and updated_at through _100_timestamps), so no API
-- role may write them; a role updates only the columns its job changes.
--
-- Nobody inserts into users, projects or invoices through the tables:
-- sign-up is api.register, orders are api.create_project (SECURITY DEFINER
-- functions that check the caller themselves). No grant ever reaches
-- app_private, whose schema the API roles cannot even use.

-------------------------------------------------------------------------------
-- users

grant select on api.users to app_client;
create policy select_own on api.users for select to app_client
  using (id = (select app_hidden.current_user_id()));

-- A client edits only its profile: role changes go through
-- api.set_user_role (admins only), email_verified through the admins.
grant update (name, phone) on api.users to app_client;
create policy update_own on api.users for update to app_client
  using (id = (select app_hidden.current_user_id()))
  with check (id = (select app_hidden.current_user_id()));

grant select on api.users to app_admin;
create policy select_all_admin on api.users for select to app_admin using (true);

grant update (name, phone, email_verified) on api.users to app_admin;
create policy update_all_admin on api.users for update to app_admin using (true) with check (true);

grant delete on api.users to app_admin;
create policy delete_all_admin on api.users for delete to app_admin using (true);

-------------------------------------------------------------------------------
-- projects

grant select on api.projects to app_client;
create policy select_own on api.projects for select to app_client
  using (user_id = (select app_hidden.current_user_id()));

grant update (name) on api.projects to app_client;
create policy update_own on api.projects for update to app_client
  using (user_id = (select app_hidden.current_user_id()))
  with check (user_id = (select app_hidden.current_user_id()));

grant select on api.projects to app_admin;
create policy select_all_admin on api.projects for select to app_admin using (true);

grant update (name, url, status) on api.projects to app_admin;
create policy update_all_admin on api.projects for update to app_admin using (true) with check (true);

grant delete on api.projects to app_admin;
create policy delete_all_admin on api.projects for delete to app_admin using (true);

-- The worker moves projects along as payments settle and sites ship.
grant select, update (status, url) on api.projects to app_worker;
create policy worker_all on api.projects for all to app_worker using (true) with check (true);

-------------------------------------------------------------------------------
-- invoices: clients only read them; payments change them (worker).

grant select on api.invoices to app_client;
create policy select_own on api.invoices for select to app_client
  using (project_id = any (array(
    select p.id from api.projects p where p.user_id = (select app_hidden.current_user_id()))));

grant select on api.invoices to app_admin;
create policy select_all_admin on api.invoices for select to app_admin using (true);

grant select, update (status, midtrans_order_id, qris_url, paid_at) on api.invoices to app_worker;
create policy worker_all on api.invoices for all to app_worker using (true) with check (true);

-------------------------------------------------------------------------------
-- Public content: templates, pricing plans, FAQs, posts, pages.
-- Signed-in clients see exactly what anonymous visitors see (000019's
-- policies, now also for app_client); admins run the content, drafts and
-- inactive rows included. FOR ALL policies: the grants decide the commands.

grant select on api.templates, api.pricing_plans, api.faqs, api.posts, api.pages to app_client;
alter policy select_all_public on api.templates to web_anon, app_client;
alter policy select_active_public on api.pricing_plans to web_anon, app_client;
alter policy select_active_public on api.faqs to web_anon, app_client;
alter policy select_published_public on api.posts to web_anon, app_client;
alter policy select_all_public on api.pages to web_anon, app_client;

grant select, delete on api.templates, api.pricing_plans, api.faqs, api.posts, api.pages to app_admin;
grant insert (name, category, image_url, demo_url),
      update (name, category, image_url, demo_url) on api.templates to app_admin;
grant insert (identifier, name, price, description, features, popular, color, sort_order, is_active),
      update (identifier, name, price, description, features, popular, color, sort_order, is_active) on api.pricing_plans to app_admin;
grant insert (question, answer, sort_order, is_active),
      update (question, answer, sort_order, is_active) on api.faqs to app_admin;
grant insert (title, slug, content, featured_image, status, published_at),
      update (title, slug, content, featured_image, status, published_at) on api.posts to app_admin;
grant insert (title, slug, content),
      update (title, slug, content) on api.pages to app_admin;
create policy manage_admin on api.templates for all to app_admin using (true) with check (true);
create policy manage_admin on api.pricing_plans for all to app_admin using (true) with check (true);
create policy manage_admin on api.faqs for all to app_admin using (true) with check (true);
create policy manage_admin on api.posts for all to app_admin using (true) with check (true);
create policy manage_admin on api.pages for all to app_admin using (true) with check (true);

-------------------------------------------------------------------------------
-- audit_logs: written by SECURITY DEFINER code (the audit trigger, login,
-- logout) and by the worker for what happens outside the database
-- (PAYMENT_*); read by admins; never updated or deleted (000027's trigger
-- refuses it even to the table owner). id and timestamp are the database's:
-- the worker cannot back-date a row. Its insert is not limited to PAYMENT_*
-- actions (the issue is silent): breaker resets are audited by it too.

grant select on api.audit_logs to app_admin;
create policy select_all_admin on api.audit_logs for select to app_admin using (true);

grant insert (user_id, action, resource, resource_id, old_values, new_values, ip_address, user_agent)
  on api.audit_logs to app_worker;
create policy insert_worker on api.audit_logs for insert to app_worker with check (true);

-------------------------------------------------------------------------------
-- real_time_notifications: the worker and admins write them, a client can
-- only mark its own as read (and never unread: WITH CHECK read). Admins and
-- the worker create them unread; read and read_at are the reader's.

grant select on api.real_time_notifications to app_client;
create policy select_own on api.real_time_notifications for select to app_client
  using (user_id = (select app_hidden.current_user_id()));

grant update (read, read_at) on api.real_time_notifications to app_client;
create policy update_own on api.real_time_notifications for update to app_client
  using (user_id = (select app_hidden.current_user_id()))
  with check (read and user_id = (select app_hidden.current_user_id()));

grant select, delete on api.real_time_notifications to app_admin;
grant insert (user_id, type, title, message, payload, priority) on api.real_time_notifications to app_admin;
create policy manage_admin on api.real_time_notifications for all to app_admin using (true) with check (true);

grant select, update (read, read_at) on api.real_time_notifications to app_worker;
grant insert (user_id, type, title, message, payload, priority) on api.real_time_notifications to app_worker;
create policy worker_all on api.real_time_notifications for all to app_worker using (true) with check (true);

-------------------------------------------------------------------------------
-- Realtime bookkeeping: the worker's hub keeps these tables; admins may
-- look; clients and visitors get nothing (their sockets are the API).
-- Inserts leave id and the creation timestamps to the database; updates
-- cover what changes over a socket's life.

grant select, delete on api.websocket_connections to app_worker;
grant insert (user_id, connection_id, role, ip_address, user_agent, last_activity, is_alive, rooms),
      update (last_activity, is_alive, rooms) on api.websocket_connections to app_worker;
create policy worker_all on api.websocket_connections for all to app_worker using (true) with check (true);
grant select on api.websocket_connections to app_admin;
create policy select_all_admin on api.websocket_connections for select to app_admin using (true);

-- joined_at is updatable so a re-join can refresh it with an upsert.
grant select, delete on api.websocket_room_memberships to app_worker;
grant insert (connection_id, room_id), update (joined_at) on api.websocket_room_memberships to app_worker;
create policy worker_all on api.websocket_room_memberships for all to app_worker using (true) with check (true);
grant select on api.websocket_room_memberships to app_admin;
create policy select_all_admin on api.websocket_room_memberships for select to app_admin using (true);

grant select, delete on api.websocket_events to app_worker;
grant insert (event_type, connection_id, room_id, payload, delivered_at, is_delivered),
      update (delivered_at, is_delivered) on api.websocket_events to app_worker;
create policy worker_all on api.websocket_events for all to app_worker using (true) with check (true);
grant select on api.websocket_events to app_admin;
create policy select_all_admin on api.websocket_events for select to app_admin using (true);

grant select, delete on api.websocket_message_queue to app_worker;
grant insert (connection_id, event_type, payload, priority, expires_at, attempts, max_attempts),
      update (priority, expires_at, attempts) on api.websocket_message_queue to app_worker;
create policy worker_all on api.websocket_message_queue for all to app_worker using (true) with check (true);
grant select on api.websocket_message_queue to app_admin;
create policy select_all_admin on api.websocket_message_queue for select to app_admin using (true);

-------------------------------------------------------------------------------
-- Tokens whose role claim is authenticator. PostgREST may switch to
-- authenticator (it is its own login role), and then calls the
-- db-pre-request hook as authenticator: without these grants the request
-- fails with "permission denied for schema app_hidden" (403) before the
-- hook runs; with them the hook refuses the token as TOKEN_INVALID (401)
-- like any other role it does not accept. The hook is SECURITY DEFINER, so
-- this gives authenticator nothing else.
grant usage on schema app_hidden to authenticator;
grant execute on function app_hidden.pre_request() to authenticator;
