-- search_content as 000030 made it (candidates parsed again from the
-- expression indexes, 500 per branch) with 000035's comment; the stored
-- tsvectors and their trigger go.
create or replace function api.search_content(query text, lang text default null, "limit" integer default 10, "offset" integer default 0)
  returns table (kind text, id uuid, slug text, title text, snippet text, rank real, published_at timestamptz)
  language plpgsql stable security definer
  set search_path to pg_catalog, pg_temp
as $$
declare
  q_en tsquery;
  q_id tsquery;
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
  -- Stop words or punctuation only: nothing to search for, so no results.
  if coalesce(numnode(q_en), 0) = 0 and coalesce(numnode(q_id), 0) = 0 then
    return;
  end if;
  if numnode(q_en) = 0 then q_en := null; end if;
  if numnode(q_id) = 0 then q_id := null; end if;

  -- Each branch repeats the indexed expression exactly, so the GIN indexes
  -- posts_fts_en_idx, posts_fts_id_idx, pages_fts_en_idx, pages_fts_id_idx
  -- apply. Ranking needs each match's tsvector, which an expression index
  -- does not store, so ranking is bounded: each branch ranks its 500 most
  -- recent matches (a common word on a large blog matches thousands of posts,
  -- and ranking them all costs seconds). Newer content wins ties of relevance.
  return query
  with hits as (
    select 'post'::text as kind, m.id, ts_rank(to_tsvector('english'::regconfig, m.title || ' ' || m.content), q_en) as rank, 'english'::regconfig as cfg, q_en as q
      from (select p.id, p.title, p.content from api.posts p
             where q_en is not null and p.status = 'published' and to_tsvector('english'::regconfig, p.title || ' ' || p.content) @@ q_en
             order by p.published_at desc limit 500) m
    union all
    select 'post', m.id, ts_rank(to_tsvector('indonesian'::regconfig, m.title || ' ' || m.content), q_id), 'indonesian'::regconfig, q_id
      from (select p.id, p.title, p.content from api.posts p
             where q_id is not null and p.status = 'published' and to_tsvector('indonesian'::regconfig, p.title || ' ' || p.content) @@ q_id
             order by p.published_at desc limit 500) m
    union all
    select 'page', m.id, ts_rank(to_tsvector('english'::regconfig, m.title || ' ' || m.content), q_en), 'english'::regconfig, q_en
      from (select g.id, g.title, g.content from api.pages g
             where q_en is not null and to_tsvector('english'::regconfig, g.title || ' ' || g.content) @@ q_en
             order by g.updated_at desc limit 500) m
    union all
    select 'page', m.id, ts_rank(to_tsvector('indonesian'::regconfig, m.title || ' ' || m.content), q_id), 'indonesian'::regconfig, q_id
      from (select g.id, g.title, g.content from api.pages g
             where q_id is not null and to_tsvector('indonesian'::regconfig, g.title || ' ' || g.content) @@ q_id
             order by g.updated_at desc limit 500) m
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
  E'Full-text search over published posts and pages, English (lang=en), Indonesian (lang=id) or both (lang omitted, best rank of either); web-search syntax ("quoted phrases", -exclusions, or); ranked (among the 500 most recent matches per language and kind), with <mark>-highlighted snippets. A query of only stop words or punctuation returns nothing. Anonymous callers allowed. Errors: INVALID_QUERY, INVALID_LANGUAGE, INVALID_PAGINATION (400). SECURITY DEFINER on purpose: it applies the public-content rule itself (published posts, every page), because under row-level security the full-text match, which is not leakproof, may only run after the policy''s filter, so the GIN indexes could not serve it and every published post would be parsed on every search (about 10 times slower).';

drop trigger _200_search_vectors on api.pages;
drop trigger _200_search_vectors on api.posts;
drop function app_private.tg__search_vectors();
drop table app_private.page_search_vectors;
drop table app_private.post_search_vectors;
