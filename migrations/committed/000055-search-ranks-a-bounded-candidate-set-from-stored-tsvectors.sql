--! Previous: sha1:c4a9a5c387e0f69644975376035a084101534634
--! Hash: sha1:1baa78af0a3ee85f69f7bbf82e4851414af70a51
--! Message: search ranks a bounded candidate set from stored tsvectors

-- search_content ranks over a bounded candidate set read from stored
-- tsvectors, so a search costs about the same however many posts match.
--
-- Before: the candidates were found through the expression GIN indexes, whose
-- tsvectors are not stored, so every candidate was parsed again (to_tsvector)
-- to check it and again to rank it. A word in every post cost two parses of
-- 2000 posts per search (seconds for 50 searches at once), and a phrase of
-- two common words ("website building"), which the index can only narrow to
-- posts with both words, parsed every such post: 6.5 s on 100k posts.
--
-- Now:
--   * app_private.post_search_vectors and page_search_vectors hold each post's
--     and page's English and Indonesian tsvector (of title || ' ' || content,
--     the expression of the blueprint's indexes, which stay), GIN-indexed,
--     kept by a trigger on insert and on update of title or content.
--   * Candidates: per language and kind the 1000 most recent items (posts by
--     published_at, pages by updated_at) that contain the query's positive
--     words (querytree: negations left out; phrases loosened to "all these
--     words"), which the GIN index answers exactly. The query itself
--     (phrases, exclusions) is then checked on those candidates only, and
--     they are ranked from the stored vectors.
--   * A query with no word to look for, only exclusions ("-website"), finds
--     nothing (as one of stop words only): the index cannot serve it.
-- The trade-off: on a large blog a phrase or an exclusion is matched within
-- the 1000 most recent items that contain its words, and results beyond
-- those candidates are not reached.

create table app_private.post_search_vectors (
  post_id uuid primary key references api.posts (id) on delete cascade,
  english tsvector not null,
  indonesian tsvector not null
);
comment on table app_private.post_search_vectors is
  E'Each post''s tsvectors of title || '' '' || content, English and Indonesian, stored so that search_content checks and ranks candidates without parsing them again; kept by the _200_search_vectors trigger of api.posts. Read only by search_content.';
alter table app_private.post_search_vectors enable row level security;

create table app_private.page_search_vectors (
  page_id uuid primary key references api.pages (id) on delete cascade,
  english tsvector not null,
  indonesian tsvector not null
);
comment on table app_private.page_search_vectors is
  E'Each page''s tsvectors of title || '' '' || content, English and Indonesian, stored so that search_content checks and ranks candidates without parsing them again; kept by the _200_search_vectors trigger of api.pages. Read only by search_content.';
alter table app_private.page_search_vectors enable row level security;

create function app_private.tg__search_vectors() returns trigger
  language plpgsql volatile security definer
  set search_path to pg_catalog, pg_temp
as $$
declare
  document text := new.title || ' ' || new.content;
begin
  if tg_table_name = 'posts' then
    insert into app_private.post_search_vectors (post_id, english, indonesian)
    values (new.id, to_tsvector('english'::regconfig, document), to_tsvector('indonesian'::regconfig, document))
    on conflict (post_id) do update set english = excluded.english, indonesian = excluded.indonesian;
  else
    insert into app_private.page_search_vectors (page_id, english, indonesian)
    values (new.id, to_tsvector('english'::regconfig, document), to_tsvector('indonesian'::regconfig, document))
    on conflict (page_id) do update set english = excluded.english, indonesian = excluded.indonesian;
  end if;
  return null;
end;
$$;
comment on function app_private.tg__search_vectors() is
  'AFTER INSERT or UPDATE OF title, content row trigger (_200_search_vectors) of api.posts and api.pages: stores the row''s English and Indonesian tsvectors for search_content (a deleted row''s go with it, by foreign key). SECURITY DEFINER because admins, who write posts and pages, cannot write app_private.';

create trigger _200_search_vectors after insert or update of title, content on api.posts
  for each row execute function app_private.tg__search_vectors();
create trigger _200_search_vectors after insert or update of title, content on api.pages
  for each row execute function app_private.tg__search_vectors();

insert into app_private.post_search_vectors (post_id, english, indonesian)
select p.id, to_tsvector('english'::regconfig, p.title || ' ' || p.content), to_tsvector('indonesian'::regconfig, p.title || ' ' || p.content)
  from api.posts p;
insert into app_private.page_search_vectors (page_id, english, indonesian)
select g.id, to_tsvector('english'::regconfig, g.title || ' ' || g.content), to_tsvector('indonesian'::regconfig, g.title || ' ' || g.content)
  from api.pages g;
-- Built after the rows are in: faster than growing them row by row.
create index post_search_vectors_english_idx on app_private.post_search_vectors using gin (english);
create index post_search_vectors_indonesian_idx on app_private.post_search_vectors using gin (indonesian);
create index page_search_vectors_english_idx on app_private.page_search_vectors using gin (english);
create index page_search_vectors_indonesian_idx on app_private.page_search_vectors using gin (indonesian);

create or replace function api.search_content(query text, lang text default null, "limit" integer default 10, "offset" integer default 0)
  returns table (kind text, id uuid, slug text, title text, snippet text, rank real, published_at timestamptz)
  language plpgsql stable security definer
  set search_path to pg_catalog, pg_temp
  -- Planned for each query's own words: a plan cached for unknown words
  -- could walk every post for a rare one.
  set plan_cache_mode to force_custom_plan
as $$
declare
  q_en tsquery;
  q_id tsquery;
  -- What the GIN indexes answer exactly: the query's positive words, with
  -- phrases loosened to "all these words" (every match of the query is one).
  c_en tsquery;
  c_id tsquery;
begin
  if query is null or query !~ '\S' or length(query) > 200 then
    perform app_hidden.raise_error('INVALID_QUERY', 'The query must have 1 to 200 characters.', 400);
  end if;
  if lang is not null and lang not in ('en', 'id') then
    perform app_hidden.raise_error('INVALID_LANGUAGE', 'lang must be en (English), id (Indonesian) or omitted for both.', 400);
  end if;
  if "limit" is null or "limit" < 1 or "limit" > 50 or "offset" is null or "offset" < 0 or "offset" > 10000 then
    perform app_hidden.raise_error('INVALID_PAGINATION', 'limit must be 1 to 50 and offset 0 to 10000.', 400);
  end if;
  if lang is distinct from 'id' then q_en := websearch_to_tsquery('english', query); end if;
  if lang is distinct from 'en' then q_id := websearch_to_tsquery('indonesian', query); end if;
  -- querytree drops what the index cannot look for (exclusions); 'T' means
  -- nothing is left. Lexemes are quoted in a tsquery's text and never hold
  -- '<', so the replacement only meets phrase operators (<->, <N>).
  if numnode(q_en) > 0 and querytree(q_en) <> 'T' then
    c_en := regexp_replace(querytree(q_en), '<(\d+|-)>', '&', 'g')::tsquery;
  else
    q_en := null;
  end if;
  if numnode(q_id) > 0 and querytree(q_id) <> 'T' then
    c_id := regexp_replace(querytree(q_id), '<(\d+|-)>', '&', 'g')::tsquery;
  else
    q_id := null;
  end if;
  -- Stop words, punctuation or exclusions only: nothing to look for.
  if q_en is null and q_id is null then
    return;
  end if;

  -- Each branch takes at most 1000 candidates, most recent first, from the
  -- stored vectors' GIN index (the public-content rule applied on the
  -- table), then checks the query itself on them and ranks them: bounded
  -- work whatever the number of matches. Newer content wins ties of
  -- relevance.
  return query
  with hits as (
    select 'post'::text as kind, m.id, ts_rank(m.v, q_en) as rank, 'english'::regconfig as cfg, q_en as q
      from (select p.id, s.english as v
              from app_private.post_search_vectors s join api.posts p on p.id = s.post_id
             where q_en is not null and s.english @@ c_en and p.status = 'published'
             order by p.published_at desc limit 1000) m
     where m.v @@ q_en
    union all
    select 'post', m.id, ts_rank(m.v, q_id), 'indonesian'::regconfig, q_id
      from (select p.id, s.indonesian as v
              from app_private.post_search_vectors s join api.posts p on p.id = s.post_id
             where q_id is not null and s.indonesian @@ c_id and p.status = 'published'
             order by p.published_at desc limit 1000) m
     where m.v @@ q_id
    union all
    select 'page', m.id, ts_rank(m.v, q_en), 'english'::regconfig, q_en
      from (select g.id, s.english as v
              from app_private.page_search_vectors s join api.pages g on g.id = s.page_id
             where q_en is not null and s.english @@ c_en
             order by g.updated_at desc limit 1000) m
     where m.v @@ q_en
    union all
    select 'page', m.id, ts_rank(m.v, q_id), 'indonesian'::regconfig, q_id
      from (select g.id, s.indonesian as v
              from app_private.page_search_vectors s join api.pages g on g.id = s.page_id
             where q_id is not null and s.indonesian @@ c_id
             order by g.updated_at desc limit 1000) m
     where m.v @@ q_id
  ),
  best as (
    -- An item found in both languages counts once, with its better rank.
    select distinct on (h.kind, h.id) h.kind, h.id, h.rank, h.cfg, h.q
      from hits h
     order by h.kind, h.id, h.rank desc
  ),
  page_of_results as (
    select b.* from best b order by b.rank desc, b.id limit "limit" offset "offset"
  )
  select r.kind, r.id, coalesce(p.slug, g.slug), coalesce(p.title, g.title),
         ts_headline(r.cfg, coalesce(p.content, g.content), r.q,
                     'StartSel=<mark>, StopSel=</mark>, MaxWords=35, MinWords=15, MaxFragments=2'),
         r.rank, p.published_at
    from page_of_results r
    left join api.posts p on r.kind = 'post' and p.id = r.id
    left join api.pages g on r.kind = 'page' and g.id = r.id
   order by r.rank desc, r.id;
end;
$$;
comment on function api.search_content(text, text, integer, integer) is
  E'Full-text search over published posts and pages, English (lang=en), Indonesian (lang=id) or both (lang omitted, best rank of either); web-search syntax ("quoted phrases", -exclusions, or); ranked, with <mark>-highlighted snippets. Bounded work: per language and kind, the 1000 most recent items containing the query''s words are the candidates, on which phrases and exclusions are checked and which are ranked (from stored tsvectors). A query of only stop words, punctuation or exclusions returns nothing. Anonymous callers allowed. Errors: INVALID_QUERY, INVALID_LANGUAGE, INVALID_PAGINATION (400). SECURITY DEFINER on purpose: it reads the stored tsvectors in app_private and applies the public-content rule itself (published posts, every page), because under row-level security the full-text match, which is not leakproof, may only run after the policy''s filter, so the GIN indexes could not serve it.';
