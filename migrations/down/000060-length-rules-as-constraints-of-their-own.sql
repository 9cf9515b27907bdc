-- The blank and length rules back in one constraint each, as migration 000033 wrote them.
alter table api.refunds
  drop constraint refunds_reason_length,
  drop constraint refunds_reason_not_blank,
  add constraint refunds_reason_not_blank check (app_hidden.is_not_blank(reason, 500));
alter table api.pages
  drop constraint pages_title_length,
  drop constraint pages_title_not_blank,
  add constraint pages_title_not_blank check (app_hidden.is_not_blank(title, 300));
alter table api.posts
  drop constraint posts_title_length,
  drop constraint posts_title_not_blank,
  add constraint posts_title_not_blank check (app_hidden.is_not_blank(title, 300));
alter table api.pricing_plans
  drop constraint pricing_plans_name_length,
  drop constraint pricing_plans_name_not_blank,
  add constraint pricing_plans_name_not_blank check (app_hidden.is_not_blank(name, 200));
alter table api.templates
  drop constraint templates_name_length,
  drop constraint templates_name_not_blank,
  add constraint templates_name_not_blank check (app_hidden.is_not_blank(name, 200));
alter table api.projects
  drop constraint projects_name_length,
  drop constraint projects_name_not_blank,
  add constraint projects_name_not_blank check (app_hidden.is_not_blank(name, 200));
alter table api.users
  drop constraint users_name_length,
  drop constraint users_name_not_blank,
  add constraint users_name_not_blank check (app_hidden.is_not_blank(name, 200));
