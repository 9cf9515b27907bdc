--! Previous: sha1:56685ac882f3d2e309dc6a9e884690579b83bf2a
--! Hash: sha1:4fcd48083588e75f9e36e666aa4d6b087bbbad7c
--! Message: posts

create type api.post_status as enum ('draft', 'published');
comment on type api.post_status is E'A post is visible to the public only once published.';

create table api.posts (
  id uuid not null default gen_random_uuid(),
  title text not null,
  slug text not null,
  content text not null,
  featured_image text,
  status api.post_status not null default 'draft',
  published_at timestamptz,
  created_at timestamptz not null default now(),
  constraint posts_pkey primary key (id),
  constraint posts_slug_key unique (slug),
  constraint posts_slug_format check (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' and length(slug) <= 200),
  constraint posts_featured_image_format check (featured_image is null or featured_image ~ '^https?://[^\s/$.?#].[^\s]*$'),
  constraint posts_title_not_blank check (title ~ '\S' and length(title) <= 300),
  constraint posts_published_has_date check (status <> 'published' or published_at is not null)
);
comment on table api.posts is E'Blog posts (English or Indonesian), searchable in both languages.';
comment on column api.posts.slug is E'URL path of the post: lower-case words joined by hyphens; unique.';
comment on column api.posts.featured_image is E'Optional cover image (http or https URL).';
comment on column api.posts.published_at is E'When the post went public; required once published.';

-- posts_slug_key already indexes slug.
create index posts_status_idx on api.posts (status);
create index posts_created_at_idx on api.posts (created_at);
create index posts_status_published_at_idx on api.posts (status, published_at);
create index posts_published_slug_idx on api.posts (slug, published_at desc) where status = 'published';

-- Full-text search in English and Indonesian. Queries must use the very
-- same expressions for these indexes to apply.
create index posts_title_fts_en_idx on api.posts using gin (to_tsvector('english'::regconfig, title));
create index posts_title_fts_id_idx on api.posts using gin (to_tsvector('indonesian'::regconfig, title));
create index posts_fts_en_idx on api.posts using gin (to_tsvector('english'::regconfig, title || ' ' || content));
create index posts_fts_id_idx on api.posts using gin (to_tsvector('indonesian'::regconfig, title || ' ' || content));

alter table api.posts enable row level security;
