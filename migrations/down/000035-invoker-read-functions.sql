-- search_content's comment as migration 000030 wrote it; the read-only RPCs
-- run as their owner again.

comment on function api.search_content(text, text, integer, integer) is
  E'Full-text search over published posts and pages, English (lang=en), Indonesian (lang=id) or both (lang omitted, best rank of either); web-search syntax ("quoted phrases", -exclusions, or); ranked (among the 500 most recent matches per language and kind), with <mark>-highlighted snippets. A query of only stop words or punctuation returns nothing. Anonymous callers allowed. Errors: INVALID_QUERY, INVALID_LANGUAGE, INVALID_PAGINATION (400).';

alter function api.bi_revenue(date, date, text) security definer;
alter function api.admin_dashboard() security definer;
alter function api.me() security definer;
