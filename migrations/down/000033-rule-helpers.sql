-- The CHECK constraints and functions as migrations 000005-000012, 000013,
-- 000014, 000017, 000021 and 000024 wrote them; then the helpers go.

alter table api.users
  drop constraint users_email_format,
  add constraint users_email_format check (email ~ '^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$'),
  drop constraint users_phone_format,
  add constraint users_phone_format check (phone is null or phone ~ '^\+?[0-9]{8,15}$'),
  drop constraint users_name_not_blank,
  add constraint users_name_not_blank check (name ~ '\S' and length(name) <= 200);

alter table api.projects
  drop constraint projects_url_format,
  add constraint projects_url_format check (url is null or url ~ '^https?://[^\s/$.?#].[^\s]*$'),
  drop constraint projects_name_not_blank,
  add constraint projects_name_not_blank check (name ~ '\S' and length(name) <= 200);

alter table api.invoices
  drop constraint invoices_qris_url_format,
  add constraint invoices_qris_url_format check (qris_url is null or qris_url ~ '^https?://[^\s/$.?#].[^\s]*$');

alter table api.templates
  drop constraint templates_url_format,
  add constraint templates_url_format check (
    image_url ~ '^https?://[^\s/$.?#].[^\s]*$' and demo_url ~ '^https?://[^\s/$.?#].[^\s]*$'
  ),
  drop constraint templates_name_not_blank,
  add constraint templates_name_not_blank check (name ~ '\S' and length(name) <= 200);

alter table api.posts
  drop constraint posts_slug_format,
  add constraint posts_slug_format check (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' and length(slug) <= 200),
  drop constraint posts_featured_image_format,
  add constraint posts_featured_image_format check (featured_image is null or featured_image ~ '^https?://[^\s/$.?#].[^\s]*$'),
  drop constraint posts_title_not_blank,
  add constraint posts_title_not_blank check (title ~ '\S' and length(title) <= 300);

alter table api.pages
  drop constraint pages_slug_format,
  add constraint pages_slug_format check (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' and length(slug) <= 200),
  drop constraint pages_title_not_blank,
  add constraint pages_title_not_blank check (title ~ '\S' and length(title) <= 300);

alter table api.pricing_plans
  drop constraint pricing_plans_name_not_blank,
  add constraint pricing_plans_name_not_blank check (name ~ '\S' and length(name) <= 200);

alter table api.faqs
  drop constraint faqs_question_not_blank,
  add constraint faqs_question_not_blank check (question ~ '\S'),
  drop constraint faqs_answer_not_blank,
  add constraint faqs_answer_not_blank check (answer ~ '\S');

alter table api.audit_logs
  drop constraint audit_logs_resource_not_blank,
  add constraint audit_logs_resource_not_blank check (resource ~ '\S');

alter table api.websocket_connections
  drop constraint websocket_connections_connection_id_not_blank,
  add constraint websocket_connections_connection_id_not_blank check (connection_id ~ '\S');

alter table api.websocket_room_memberships
  drop constraint websocket_room_memberships_room_id_not_blank,
  add constraint websocket_room_memberships_room_id_not_blank check (room_id ~ '\S');

alter table api.real_time_notifications
  drop constraint real_time_notifications_title_not_blank,
  add constraint real_time_notifications_title_not_blank check (title ~ '\S');

create or replace function app_private.validate_email(raw text) returns text
  language plpgsql immutable
  set search_path to pg_catalog, pg_temp
as $$
declare
  email text := lower(btrim(raw));
begin
  if email is null or email = '' then
    perform app_hidden.raise_error('INVALID_EMAIL', 'An email address is required.', 400);
  end if;
  if length(email) > 254 or email !~ '^[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}$' then
    perform app_hidden.raise_error('INVALID_EMAIL', 'The email address is not valid.', 400);
  end if;
  return email;
end;
$$;

create or replace function app_private.validate_profile(name text, phone text) returns void
  language plpgsql immutable
  set search_path to pg_catalog, pg_temp
as $$
begin
  if name is null or name !~ '\S' then
    perform app_hidden.raise_error('INVALID_NAME', 'A name is required.', 400);
  end if;
  if length(name) > 200 then
    perform app_hidden.raise_error('INVALID_NAME', 'The name is longer than 200 characters.', 400);
  end if;
  if phone is not null and phone !~ '^\+?[0-9]{8,15}$' then
    perform app_hidden.raise_error('INVALID_PHONE', 'The phone number must be 8 to 15 digits, optionally starting with +.', 400);
  end if;
end;
$$;

create or replace function app_hidden.current_user_id() returns uuid
  language sql stable parallel safe
  set search_path to pg_catalog, pg_temp
as $$
  select case when app_hidden.jwt_claims() ->> 'sub' ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
              then (app_hidden.jwt_claims() ->> 'sub')::uuid end;
$$;

create or replace function app_hidden.pre_request() returns void
  language plpgsql stable security definer
  set search_path to pg_catalog, pg_temp
as $$
declare
  -- Runs on every request: the claims are parsed once and the account and
  -- the revocation list are read in one indexed query.
  claims jsonb := coalesce(nullif(current_setting('request.jwt.claims', true), '')::jsonb, '{}'::jsonb);
  token_role text := claims ->> 'role';
  token_sub text := claims ->> 'sub';
  token_jti text := claims ->> 'jti';
  user_role api.user_role;
  revoked boolean;
begin
  -- Anonymous requests carry {"role": "web_anon"} (PostgREST's anon role).
  if token_role is null or token_role = 'web_anon' then
    return;
  end if;
  if token_role not in ('app_client', 'app_admin') then
    perform app_hidden.raise_error('TOKEN_INVALID', 'This token''s role is not accepted.', 401);
  end if;
  if token_sub is null or token_sub !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
    perform app_hidden.raise_error('TOKEN_INVALID', 'This token names no user.', 401);
  end if;
  if token_jti is null or token_jti !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
    perform app_hidden.raise_error('TOKEN_INVALID', 'This token has no id.', 401);
  end if;
  select u.role, exists (select 1 from app_private.revoked_tokens r where r.jti = token_jti::uuid)
    into user_role, revoked
    from api.users u where u.id = token_sub::uuid;
  if not found then
    perform app_hidden.raise_error('TOKEN_INVALID', 'The account of this token no longer exists.', 401);
  end if;
  if revoked then
    perform app_hidden.raise_error('TOKEN_REVOKED', 'This token was signed out; sign in again.', 401);
  end if;
  if (user_role = 'admin') <> (token_role = 'app_admin') then
    perform app_hidden.raise_error('TOKEN_INVALID', 'The account''s role changed; sign in again.', 401);
  end if;
end;
$$;

drop function app_hidden.try_uuid(text);
drop function app_hidden.is_not_blank(text, integer);
drop function app_hidden.is_not_blank(text);
drop function app_hidden.is_phone(text);
drop function app_hidden.is_email(text);
drop function app_hidden.is_slug(text);
drop function app_hidden.is_http_url(text);
