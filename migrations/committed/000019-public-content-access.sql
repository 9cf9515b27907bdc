--! Previous: sha1:1e85a2a08f2c8686f961fb56b88afa0ebcdd0db2
--! Hash: sha1:06c8fe5c91016e1a028b113d595134f9de5f5aa1
--! Message: public content access

-- What anonymous visitors may read. Everything else stays closed until the
-- auth migrations grant it.
grant select on api.templates, api.pricing_plans, api.faqs, api.posts, api.pages to web_anon;

create policy select_all_public on api.templates for select to web_anon using (true);
create policy select_active_public on api.pricing_plans for select to web_anon using (is_active);
create policy select_active_public on api.faqs for select to web_anon using (is_active);
create policy select_published_public on api.posts for select to web_anon using (status = 'published');
create policy select_all_public on api.pages for select to web_anon using (true);
