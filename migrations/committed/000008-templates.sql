--! Previous: sha1:196c611c33efb818123fd2128b3fb2dae427bfab
--! Hash: sha1:56685ac882f3d2e309dc6a9e884690579b83bf2a
--! Message: templates

create table api.templates (
  id uuid not null default gen_random_uuid(),
  name text not null,
  category api.project_type not null,
  image_url text not null,
  demo_url text not null,
  created_at timestamptz not null default now(),
  constraint templates_pkey primary key (id),
  constraint templates_url_format check (
    image_url ~ '^https?://[^\s/$.?#].[^\s]*$' and demo_url ~ '^https?://[^\s/$.?#].[^\s]*$'
  ),
  constraint templates_name_not_blank check (name ~ '\S' and length(name) <= 200)
);
comment on table api.templates is E'The catalogue of website templates a client can start from.';
comment on column api.templates.category is E'The kind of website the template is made for.';
comment on column api.templates.image_url is E'Preview image (http or https URL).';
comment on column api.templates.demo_url is E'Live demo (http or https URL).';

create index templates_category_idx on api.templates (category);
create index templates_created_at_idx on api.templates (created_at);
create index templates_category_created_at_idx on api.templates (category, created_at);

alter table api.templates enable row level security;
