--! Previous: sha1:49ddfa09b83fa9d37fd81dae57f79680579483e6
--! Hash: sha1:99e8293e00a27aa3cb36c450fc8d49ae7ace7f8e
--! Message: projects

create type api.project_type as enum ('sekolah', 'berita', 'company');
comment on type api.project_type is E'Kind of website: sekolah (school), berita (news) or company.';

create type api.project_status as enum ('pending_payment', 'in_progress', 'review', 'completed');
comment on type api.project_status is E'Life cycle of a project: awaiting payment, being built, in client review, delivered.';

create table api.projects (
  id uuid not null default gen_random_uuid(),
  user_id uuid not null,
  name text not null,
  type api.project_type not null,
  status api.project_status not null default 'pending_payment',
  url text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint projects_pkey primary key (id),
  constraint projects_user_id_fkey foreign key (user_id) references api.users (id) on delete cascade,
  constraint projects_url_format check (url is null or url ~ '^https?://[^\s/$.?#].[^\s]*$'),
  constraint projects_name_not_blank check (name ~ '\S' and length(name) <= 200)
);
comment on table api.projects is E'A website a client ordered. Its access credentials are kept encrypted in app_private.project_secrets.';
comment on column api.projects.user_id is E'The client who owns the project.';
comment on column api.projects.url is E'Address of the delivered website (http or https).';

create index projects_user_id_idx on api.projects (user_id);
create index projects_status_idx on api.projects (status);
create index projects_created_at_idx on api.projects (created_at);
create index projects_user_id_status_idx on api.projects (user_id, status);
create index projects_status_created_at_idx on api.projects (status, created_at);
create index projects_user_id_status_created_at_desc_idx on api.projects (user_id, status, created_at desc);

alter table api.projects enable row level security;

create trigger _100_timestamps before update on api.projects
  for each row execute function app_private.tg__set_updated_at();

create table app_private.project_secrets (
  project_id uuid not null,
  credentials_encrypted bytea not null,
  updated_at timestamptz not null default now(),
  constraint project_secrets_pkey primary key (project_id),
  constraint project_secrets_project_id_fkey foreign key (project_id) references api.projects (id) on delete cascade
);
comment on table app_private.project_secrets is E'The blueprint''s projects.credentials: hosting/CMS credentials of a project, encrypted with pgp_sym_encrypt (key supplied at deploy time).';
alter table app_private.project_secrets enable row level security;

create trigger _100_timestamps before update on app_private.project_secrets
  for each row execute function app_private.tg__set_updated_at();
