--! Previous: sha1:cdc0d16ba0ac646c03f43696178bf91afed6f141
--! Hash: sha1:a59fdb2ccd290a2a9f4f810b5f8695bd6a8ac653
--! Message: public content access

-- What anonymous visitors may read. Everything else stays closed until the
-- auth migrations grant it.
grant select on api.templates, api.pricing_plans, api.faqs, api.posts, api.pages to web_anon;

create policy select_all_public on api.templates for select to web_anon using (true);
create policy select_active_public on api.pricing_plans for select to web_anon using (is_active);
create policy select_active_public on api.faqs for select to web_anon using (is_active);
create policy select_published_public on api.posts for select to web_anon using (status = 'published');
create policy select_all_public on api.pages for select to web_anon using (true);
