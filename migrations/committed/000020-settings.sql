--! Previous: sha1:06c8fe5c91016e1a028b113d595134f9de5f5aa1
--! Hash: sha1:ff28055d9b8708d327f0cca3ef757c2d0d0b758a
--! Message: settings

create table app_private.settings (
  name text not null,
  value text not null,
  updated_at timestamptz not null default now(),
  constraint settings_pkey primary key (name),
  constraint settings_name_format check (name ~ '^[a-z][a-z0-9_]*$')
);
comment on table app_private.settings is E'Secrets and settings supplied by the stack at boot (JWT secret, credentials key); never written by a migration, never readable through the API.';
alter table app_private.settings enable row level security;

create trigger _100_timestamps before update on app_private.settings
  for each row execute function app_private.tg__set_updated_at();

create function app_private.setting(setting_name text) returns text
  language sql stable
  set search_path to pg_catalog, pg_temp
as $$
  select value from app_private.settings where name = setting_name;
$$;
comment on function app_private.setting(text) is E'The value of a boot-time setting, or null when the stack has not supplied it.';
