--! Previous: sha1:4264e3677f0596d083bc10df2a19b1600e9abc81
--! Hash: sha1:49ddfa09b83fa9d37fd81dae57f79680579483e6
--! Message: users

create type api.user_role as enum ('admin', 'client');
comment on type api.user_role is E'What a user may do: admin runs the agency, client orders websites.';

create table api.users (
  id uuid not null default gen_random_uuid(),
  email text not null,
  name text not null,
  phone text,
  role api.user_role not null default 'client',
  created_at timestamptz not null default now(),
  constraint users_pkey primary key (id),
  constraint users_email_key unique (email),
  constraint users_email_format check (email ~ '^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$'),
  -- Stored lower-cased, so the unique key is case-insensitive.
  constraint users_email_lowercase check (email = lower(email)),
  constraint users_email_length check (length(email) <= 254),
  constraint users_phone_format check (phone is null or phone ~ '^\+?[0-9]{8,15}$'),
  constraint users_name_not_blank check (name ~ '\S' and length(name) <= 200)
);
comment on table api.users is E'People who sign in: clients who order websites and the agency''s admins. The password hash lives in app_private.user_secrets.';
comment on column api.users.email is E'Sign-in address, stored lower-case; unique.';
comment on column api.users.phone is E'Optional phone number: digits with an optional leading +, 8 to 15 digits.';
comment on column api.users.role is E'admin or client; only an admin may change it.';

create index users_role_idx on api.users (role);
create index users_created_at_idx on api.users (created_at);
create index users_role_created_at_idx on api.users (role, created_at);
create index users_role_created_at_desc_idx on api.users (role, created_at desc);

alter table api.users enable row level security;

create table app_private.user_secrets (
  user_id uuid not null,
  password_hash text not null,
  updated_at timestamptz not null default now(),
  constraint user_secrets_pkey primary key (user_id),
  constraint user_secrets_user_id_fkey foreign key (user_id) references api.users (id) on delete cascade,
  constraint user_secrets_password_hash_bcrypt check (password_hash ~ '^\$2[abxy]\$[0-9]{2}\$')
);
comment on table app_private.user_secrets is E'Password hashes (bcrypt), one row per user, kept out of the API schema.';
alter table app_private.user_secrets enable row level security;

create trigger _100_timestamps before update on app_private.user_secrets
  for each row execute function app_private.tg__set_updated_at();
