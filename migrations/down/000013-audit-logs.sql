drop table api.audit_logs;
drop type api.audit_action;
