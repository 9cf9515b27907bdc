--! Previous: sha1:8d85c837d5b039fb62cda11d98c6ad72790b5e9e
--! Hash: sha1:8c1999692bf75a1821ef2b66614355440122411f
--! Message: length rules as constraints of their own

-- Work in progress for the next migration (graphile-migrate `watch` applies it
-- on save; `npm run gm -- commit --message "..."` commits it). Write its down
-- script in migrations/down/ under the committed file's name.

-- One named constraint per rule. The *_not_blank constraints that also
-- capped the length (app_hidden.is_not_blank(x, max_length)) reported a
-- 201-character user name as violating users_name_not_blank, which says
-- the wrong thing. Each is now two: <table>_<column>_not_blank (a
-- character that is not white space) and <table>_<column>_length (at most
-- N characters, as users_email_length), so the error names the rule that
-- was broken. The rules themselves are unchanged; the functions that check
-- them first (validate_profile, create_project, refund_invoice, …) keep
-- is_not_blank(text, max_length) and their own codes.

alter table api.users
  drop constraint users_name_not_blank,
  add constraint users_name_not_blank check (app_hidden.is_not_blank(name)),
  add constraint users_name_length check (length(name) <= 200);

alter table api.projects
  drop constraint projects_name_not_blank,
  add constraint projects_name_not_blank check (app_hidden.is_not_blank(name)),
  add constraint projects_name_length check (length(name) <= 200);

alter table api.templates
  drop constraint templates_name_not_blank,
  add constraint templates_name_not_blank check (app_hidden.is_not_blank(name)),
  add constraint templates_name_length check (length(name) <= 200);

alter table api.pricing_plans
  drop constraint pricing_plans_name_not_blank,
  add constraint pricing_plans_name_not_blank check (app_hidden.is_not_blank(name)),
  add constraint pricing_plans_name_length check (length(name) <= 200);

alter table api.posts
  drop constraint posts_title_not_blank,
  add constraint posts_title_not_blank check (app_hidden.is_not_blank(title)),
  add constraint posts_title_length check (length(title) <= 300);

alter table api.pages
  drop constraint pages_title_not_blank,
  add constraint pages_title_not_blank check (app_hidden.is_not_blank(title)),
  add constraint pages_title_length check (length(title) <= 300);

alter table api.refunds
  drop constraint refunds_reason_not_blank,
  add constraint refunds_reason_not_blank check (app_hidden.is_not_blank(reason)),
  add constraint refunds_reason_length check (length(reason) <= 500);
