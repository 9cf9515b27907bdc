drop trigger _100_append_only on api.audit_logs;
drop function app_private.tg_audit_logs__append_only();

drop trigger _500_audit on app_private.user_secrets;
drop trigger _500_audit on app_private.project_secrets;
drop trigger _500_audit on api.faqs;
drop trigger _500_audit on api.pricing_plans;
drop trigger _500_audit on api.pages;
drop trigger _500_audit on api.posts;
drop trigger _500_audit on api.templates;
drop trigger _500_audit on api.invoices;
drop trigger _500_audit on api.projects;
drop trigger _500_audit on api.users;
drop function app_private.tg__audit();
