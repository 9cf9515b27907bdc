drop policy select_all_public on api.pages;
drop policy select_published_public on api.posts;
drop policy select_active_public on api.faqs;
drop policy select_active_public on api.pricing_plans;
drop policy select_all_public on api.templates;
revoke select on api.templates, api.pricing_plans, api.faqs, api.posts, api.pages from web_anon;
