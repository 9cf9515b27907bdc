--! Previous: sha1:5bcbdc7a42a177ef8891442489ec43c36afb6199
--! Hash: sha1:65ddf8ad4ed27791964cfc3e0be8e1e755505ad0
--! Message: notifications and credentials

create function api.mark_notifications_read(ids uuid[] default null) returns integer
  language plpgsql volatile security definer
  set search_path to pg_catalog, pg_temp
as $$
declare
  changed integer;
begin
  perform app_hidden.require_user_id();
  if ids is not null and cardinality(ids) > 1000 then
    perform app_hidden.raise_error('INVALID_INPUT', 'At most 1000 ids at a time.', 400);
  end if;
  update api.real_time_notifications n
     set read = true, read_at = now()
   where n.user_id = app_hidden.current_user_id()
     and not n.read
     and (ids is null or n.id = any (ids));
  get diagnostics changed = row_count;
  return changed;
end;
$$;
comment on function api.mark_notifications_read(uuid[]) is
  E'Marks the caller''s unread notifications read (those listed in ids, or all of them when ids is omitted); ids of other users'' notifications are ignored. Returns how many changed. Errors: NOT_AUTHENTICATED (401), INVALID_INPUT (400: over 1000 ids).';

create function app_private.credentials_key() returns text
  language plpgsql stable
  set search_path to pg_catalog, pg_temp
as $$
declare
  key text := app_private.setting('credentials_key');
begin
  if key is null or length(key) < 32 then
    perform app_hidden.raise_error('SERVER_MISCONFIGURED', 'The server has no credentials key; the operator must supply CREDENTIALS_KEY.', 503);
  end if;
  return key;
end;
$$;
comment on function app_private.credentials_key() is E'The key for project credentials (supplied at boot), or SERVER_MISCONFIGURED (503).';

create function api.project_credentials(project_id uuid) returns json
  language plpgsql stable security definer
  set search_path to pg_catalog, public, pg_temp
as $$
declare
  p api.projects := app_private.visible_project(project_id);
  secret bytea;
begin
  select s.credentials_encrypted into secret from app_private.project_secrets s where s.project_id = p.id;
  if secret is null then
    return null;
  end if;
  return pgp_sym_decrypt(secret, app_private.credentials_key())::json;
end;
$$;
comment on function api.project_credentials(uuid) is
  E'The project''s access credentials (hosting, CMS, ...) as stored, decrypted; null when none were stored. Owner or admin only. Errors: NOT_AUTHENTICATED (401), PROJECT_NOT_FOUND (404), SERVER_MISCONFIGURED (503).';

create function api.set_project_credentials(project_id uuid, credentials json) returns json
  language plpgsql volatile security definer
  set search_path to pg_catalog, public, pg_temp
as $$
declare
  p api.projects := app_private.visible_project(project_id);
  saved app_private.project_secrets;
begin
  if credentials is null or json_typeof(credentials) <> 'object' then
    perform app_hidden.raise_error('INVALID_CREDENTIALS_FORMAT', 'credentials must be a JSON object.', 400);
  end if;
  if octet_length(credentials::text) > 10240 then
    perform app_hidden.raise_error('INVALID_CREDENTIALS_FORMAT', 'credentials must be at most 10 kB.', 400);
  end if;
  perform app_private.enforce_user_rate_limit('set_project_credentials');
  insert into app_private.project_secrets (project_id, credentials_encrypted)
  values (p.id, pgp_sym_encrypt(credentials::text, app_private.credentials_key(), 'cipher-algo=aes256'))
  on conflict on constraint project_secrets_pkey do update set credentials_encrypted = excluded.credentials_encrypted
  returning * into saved;
  return json_build_object('project_id', saved.project_id, 'updated_at', saved.updated_at);
end;
$$;
comment on function api.set_project_credentials(uuid, json) is
  E'Stores the project''s access credentials (a JSON object, at most 10 kB), encrypted with pgp_sym_encrypt (AES-256) under the key supplied at boot. Owner or admin only. Returns {project_id, updated_at}. Errors: NOT_AUTHENTICATED (401), INVALID_CREDENTIALS_FORMAT (400), PROJECT_NOT_FOUND (404), RATE_LIMITED (429), SERVER_MISCONFIGURED (503).';

grant execute on function api.mark_notifications_read(uuid[]), api.project_credentials(uuid), api.set_project_credentials(uuid, json)
  to app_client, app_admin;
