--! Previous: sha1:06b4ff1073d851d1ad10a24be47001e5334d1e4c
--! Hash: sha1:9e467945d80d455f9d66d0dcb56f6ddf13ad9d4e
--! Message: admin_broadcast

-- POST /rpc/admin_broadcast {title, message, priority}: an admin's message
-- to everyone connected, through the realtime outbox.
--
-- What it writes: one outbox message (event admin_broadcast, room all) that
-- carries the title and message themselves (they exist nowhere else), kept
-- 24 hours for sockets that reconnect; one audit row; NOTIFY realtime. It
-- writes no real_time_notifications row per user: that would be a write per
-- user for every broadcast and would also send each user a second message
-- (the notification event of every row). A broadcast is an announcement to
-- whoever is connected or reconnects within a day, not a notification kept
-- in every user's list; an admin who wants that inserts notifications.

insert into app_private.rate_limits (action, max_count, window_seconds) values ('admin_broadcast', 10, 3600);

create function api.admin_broadcast(
  title text,
  message text,
  priority api.notification_priority default 'medium'
) returns json
  language plpgsql volatile security definer
  set search_path to pg_catalog, pg_temp
as $$
declare
  clean_title text := btrim(title);
  clean_message text := btrim(message);
  sent app_private.realtime_messages;
begin
  perform app_hidden.require_admin();
  if not coalesce(app_hidden.is_not_blank(clean_title, 200), false) then
    perform app_hidden.raise_error('INVALID_BROADCAST', 'The title must be 1 to 200 characters.', 400);
  end if;
  if not coalesce(app_hidden.is_not_blank(clean_message, 2000), false) then
    perform app_hidden.raise_error('INVALID_BROADCAST', 'The message must be 1 to 2000 characters.', 400);
  end if;
  if admin_broadcast.priority is null then
    perform app_hidden.raise_error('INVALID_BROADCAST', 'The priority must be low, medium, high or critical.', 400);
  end if;
  perform app_private.enforce_user_rate_limit('admin_broadcast');
  insert into app_private.realtime_messages (event, rooms, payload, priority, expires_at)
  values ('admin_broadcast', array['all'],
          jsonb_build_object('title', clean_title, 'message', clean_message, 'sent_by', app_hidden.current_user_id()),
          admin_broadcast.priority, now() + interval '24 hours')
  returning * into sent;
  perform app_private.write_audit('CREATE', 'admin_broadcasts', sent.id::text, null,
    jsonb_build_object('title', clean_title, 'message', clean_message, 'priority', sent.priority,
                       'expires_at', sent.expires_at));
  -- Once per transaction, like every source: the hub reads the message from the outbox.
  perform pg_notify('realtime', 'admin_broadcast');
  return json_build_object('id', sent.id, 'event', sent.event, 'title', clean_title, 'message', clean_message,
                           'priority', sent.priority, 'created_at', sent.created_at, 'expires_at', sent.expires_at);
end;
$$;
comment on function api.admin_broadcast(text, text, api.notification_priority) is
  E'Admin only: sends {title, message} (trimmed; 1-200 and 1-2000 characters) to every connected socket (room all) with the given priority (default medium). Written to the realtime outbox as one admin_broadcast message, kept 24 hours so sockets that reconnect within a day get it; no notification row per user (an announcement, not a notification kept in every list). Audited (CREATE on resource admin_broadcasts, resource id = the message id). Returns {id, event, title, message, priority, created_at, expires_at}. 10 per hour per admin (VOLATILE: POST only). SECURITY DEFINER because the outbox is in app_private. Errors: NOT_AUTHENTICATED (401), FORBIDDEN (403), INVALID_BROADCAST (400), RATE_LIMITED (429 with Retry-After).';
grant execute on function api.admin_broadcast(text, text, api.notification_priority) to app_client, app_admin;
