-- Published posts public at once, whatever their published_at (as before).
-- search_content as the snippet migration left it.
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
         app_private.search_snippet(r.cfg, coalesce(p.content, g.content), r.q),
         r.rank, p.published_at
    from page_of_results r
    left join api.posts p on r.kind = 'post' and p.id = r.id
    left join api.pages g on r.kind = 'page' and g.id = r.id
   order by r.rank desc, r.id;
end;
$$;
comment on function api.search_content(text, text, integer, integer) is
  E'Full-text search over published posts and pages, English (lang=en), Indonesian (lang=id) or both (lang omitted, best rank of either); web-search syntax ("quoted phrases", -exclusions, or); ranked, with snippets of HTML-escaped text whose only markup is <mark> around the matches (app_private.search_snippet). Bounded work: per language and kind, the 1000 most recent items containing the query''s words are the candidates, on which phrases and exclusions are checked and which are ranked (from stored tsvectors). A query of only stop words, punctuation or exclusions returns nothing. Anonymous callers allowed. Errors: INVALID_QUERY, INVALID_LANGUAGE, INVALID_PAGINATION (400). SECURITY DEFINER on purpose: it reads the stored tsvectors in app_private and applies the public-content rule itself (published posts, every page), because under row-level security the full-text match, which is not leakproof, may only run after the policy''s filter, so the GIN indexes could not serve it.';

comment on column api.posts.published_at is E'When the post went public; required once published.';
alter policy select_published_public on api.posts
  using (status = 'published');
