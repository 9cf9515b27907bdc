--! Previous: sha1:ee0013ac7c22fe1af00129a24059130067fd9bdd
--! Hash: sha1:3c9b13667b3760a44580d85ca1727b91a6cfcd79
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
  constraint templates_name_not_blank check (btrim(name) <> '' and length(name) <= 200)
);
comment on table api.templates is E'The catalogue of website templates a client can start from.';
comment on column api.templates.category is E'The kind of website the template is made for.';
comment on column api.templates.image_url is E'Preview image (http or https URL).';
comment on column api.templates.demo_url is E'Live demo (http or https URL).';

create index templates_category_idx on api.templates (category);
create index templates_created_at_idx on api.templates (created_at);
create index templates_category_created_at_idx on api.templates (category, created_at);

alter table api.templates enable row level security;
