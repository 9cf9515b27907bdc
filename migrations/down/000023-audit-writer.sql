drop function app_private.write_audit(api.audit_action, text, text, jsonb, jsonb, uuid);
drop function app_private.redact_secrets(jsonb);
