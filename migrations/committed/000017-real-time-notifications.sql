--! Previous: sha1:0c8e77c005a5412adf730783c683a7ec9b8b047b
--! Hash: sha1:01e58ae6b0a81c441a2df5fdda692376bce864c6
--! Message: real time notifications

create type api.notification_type as enum (
  'project_status_change', 'payment_received', 'system_announcement', 'admin_alert', 'deadline_reminder', 'new_feature'
);
comment on type api.notification_type is E'Kinds of notifications shown to a user.';

create type api.notification_priority as enum ('low', 'medium', 'high', 'critical');
comment on type api.notification_priority is E'How prominently a notification is shown.';

create table api.real_time_notifications (
  id uuid not null default gen_random_uuid(),
  user_id uuid not null,
  type api.notification_type not null,
  title text not null,
  message text not null,
  payload jsonb,
  priority api.notification_priority not null default 'medium',
  read boolean not null default false,
  created_at timestamptz not null default now(),
  read_at timestamptz,
  constraint real_time_notifications_pkey primary key (id),
  constraint real_time_notifications_user_id_fkey foreign key (user_id) references api.users (id) on delete cascade,
  constraint real_time_notifications_title_not_blank check (title ~ '\S'),
  constraint real_time_notifications_unread_has_no_read_at check (read or read_at is null)
);
comment on table api.real_time_notifications is E'Notifications for one user (project changes, payments, announcements); the user can only mark them read.';
comment on column api.real_time_notifications.read_at is E'When the user marked it read.';

create index real_time_notifications_user_id_idx on api.real_time_notifications (user_id);
create index real_time_notifications_type_idx on api.real_time_notifications (type);
create index real_time_notifications_priority_idx on api.real_time_notifications (priority);
create index real_time_notifications_read_idx on api.real_time_notifications (read);
create index real_time_notifications_created_at_idx on api.real_time_notifications (created_at);
create index real_time_notifications_user_id_read_idx on api.real_time_notifications (user_id, read);
create index real_time_notifications_priority_created_at_idx on api.real_time_notifications (priority, created_at);
create index real_time_notifications_unread_idx on api.real_time_notifications (user_id, created_at desc) where read = false;
create index real_time_notifications_urgent_idx on api.real_time_notifications (user_id, priority, created_at desc)
  where priority in ('high', 'critical');

alter table api.real_time_notifications enable row level security;
