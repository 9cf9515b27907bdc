--! Previous: sha1:a3e4b10cc360a043e1e7a5468d46fb65f7b0098b
--! Hash: sha1:6e4a0fecd605547fa227b0171b7477cab5f702d7
--! Message: audit writer

create function app_private.redact_secrets(doc jsonb) returns jsonb
  language sql immutable parallel safe
  set search_path to pg_catalog, pg_temp
as $$
  select case when doc is null then null else (
    select coalesce(jsonb_object_agg(key, case when key in ('password', 'password_hash', 'credentials', 'credentials_encrypted', 'token')
                                               then to_jsonb('[REDACTED]'::text) else value end), '{}'::jsonb)
      from jsonb_each(doc)) end;
$$;
comment on function app_private.redact_secrets(jsonb) is E'The row with its secrets (password hashes, credentials, tokens) replaced by "[REDACTED]", for the audit log.';

create function app_private.write_audit(
  audit_action api.audit_action,
  audit_resource text,
  audit_resource_id text,
  old_doc jsonb,
  new_doc jsonb,
  actor_id uuid default app_hidden.current_user_id()
) returns void
  language sql volatile
  set search_path to pg_catalog, pg_temp
as $$
  insert into api.audit_logs (user_id, action, resource, resource_id, old_values, new_values, ip_address, user_agent)
  values (
    -- A token of a user deleted in this very transaction must not break the insert.
    (select id from api.users where id = actor_id),
    audit_action, audit_resource, audit_resource_id,
    app_private.redact_secrets(old_doc), app_private.redact_secrets(new_doc),
    app_hidden.request_ip(), left(app_hidden.request_header('user-agent'), 500));
$$;
comment on function app_private.write_audit(api.audit_action, text, text, jsonb, jsonb, uuid) is
  E'Appends one audit row in the current transaction (so it commits or rolls back with the change): actor from the JWT, IP and user agent from the request headers, secrets redacted.';
