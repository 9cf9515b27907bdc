--! Previous: sha1:23bb2fc5a3f11159b46a346f335951dd282ea293
--! Hash: sha1:843f7cc4a887ceb6735ec5b77ee8bac02e862cef
--! Message: invoker read functions

-- Read-only RPCs whose answer the caller's own grants and row-level
-- security policies (000026) already give run as the caller (SECURITY
-- INVOKER), so the policies stay the single statement of who reads what:
--   * api.me: a client's select_own policy and an admin's select_all_admin
--     both return the caller's own row;
--   * api.admin_dashboard and api.bi_revenue: admin only
--     (app_hidden.require_admin first), and admins read every row of
--     users, projects and invoices.
-- api.search_content stays SECURITY DEFINER; its comment says why.

alter function api.me() security invoker;
alter function api.admin_dashboard() security invoker;
alter function api.bi_revenue(date, date, text) security invoker;

comment on function api.search_content(text, text, integer, integer) is
  E'Full-text search over published posts and pages, English (lang=en), Indonesian (lang=id) or both (lang omitted, best rank of either); web-search syntax ("quoted phrases", -exclusions, or); ranked (among the 500 most recent matches per language and kind), with <mark>-highlighted snippets. A query of only stop words or punctuation returns nothing. Anonymous callers allowed. Errors: INVALID_QUERY, INVALID_LANGUAGE, INVALID_PAGINATION (400). SECURITY DEFINER on purpose: it applies the public-content rule itself (published posts, every page), because under row-level security the full-text match, which is not leakproof, may only run after the policy''s filter, so the GIN indexes could not serve it and every published post would be parsed on every search (about 10 times slower).';
