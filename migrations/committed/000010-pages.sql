--! Previous: sha1:4fcd48083588e75f9e36e666aa4d6b087bbbad7c
--! Hash: sha1:54fe55cc90725706a137a922ba26bb95e51214f0
--! Message: pages

create table api.pages (
  id uuid not null default gen_random_uuid(),
  title text not null,
  slug text not null,
  content text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint pages_pkey primary key (id),
  constraint pages_slug_key unique (slug),
  constraint pages_slug_format check (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' and length(slug) <= 200),
  constraint pages_title_not_blank check (title ~ '\S' and length(title) <= 300)
);
comment on table api.pages is E'CMS pages of the agency site (about, terms, ...), searchable in English and Indonesian.';
comment on column api.pages.slug is E'URL path of the page: lower-case words joined by hyphens; unique.';

create index pages_fts_en_idx on api.pages using gin (to_tsvector('english'::regconfig, title || ' ' || content));
create index pages_fts_id_idx on api.pages using gin (to_tsvector('indonesian'::regconfig, title || ' ' || content));

alter table api.pages enable row level security;

create trigger _100_timestamps before update on api.pages
  for each row execute function app_private.tg__set_updated_at();
