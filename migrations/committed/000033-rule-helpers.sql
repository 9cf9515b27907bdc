--! Previous: sha1:e577deeca7d326e011de93bdfad3427d98643eb1
--! Hash: sha1:773eb887da0fe852ea041938b555b413454ee767
--! Message: rule helpers

-- The data rules that were retyped in several CHECK constraints (URL, slug,
-- email, phone, not blank within a length) and the canonical uuid of a JWT
-- claim, each written once as an immutable helper in app_hidden. The
-- constraints keep their names (errors name them) and their verdicts: each
-- helper's body is the very expression it replaces.
--
-- The helpers use SQL-standard bodies (RETURN ...): the body is parsed when
-- the function is created, so the caller's search_path cannot change what
-- it means, and with no SET clause the planner inlines it into the CHECK
-- or query that calls it (no function call per row). They are called with
-- the privileges of whoever writes the row, hence the grants to every API
-- role and the worker.

create function app_hidden.is_http_url(value text) returns boolean
  language sql immutable parallel safe strict
  return value ~ '^https?://[^\s/$.?#].[^\s]*$';
comment on function app_hidden.is_http_url(text) is
  E'The one URL rule of the schema (projects, invoices, templates, posts): an absolute http or https URL without white space. Shared so that every table accepts the same addresses.';

create function app_hidden.is_slug(value text) returns boolean
  language sql immutable parallel safe
  return value ~ '^[a-z0-9]+(-[a-z0-9]+)*$' and length(value) <= 200;
comment on function app_hidden.is_slug(text) is
  E'The URL path rule of posts and pages: lower-case words of letters and digits joined by single hyphens, at most 200 characters. Shared so a post and a page accept the same slugs. Not STRICT so that it can be inlined (null gives null all the same).';

create function app_hidden.is_email(value text) returns boolean
  language sql immutable parallel safe strict
  return value ~ '^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$';
comment on function app_hidden.is_email(text) is
  E'The email format of users_email_format and of sign-up''s validation (its length limit is a separate rule, users_email_length), written once so that the API never accepts an address the table would refuse.';

create function app_hidden.is_phone(value text) returns boolean
  language sql immutable parallel safe strict
  return value ~ '^\+?[0-9]{8,15}$';
comment on function app_hidden.is_phone(text) is
  E'The phone format of users_phone_format and of profile validation (8 to 15 digits, optional leading +), written once so the two cannot drift apart.';

create function app_hidden.is_not_blank(value text) returns boolean
  language sql immutable parallel safe strict
  return value ~ '\S';
comment on function app_hidden.is_not_blank(text) is
  E'True when the text has a character that is not white space of any kind (a blank is more than the ASCII space): the one definition behind every *_not_blank constraint.';

create function app_hidden.is_not_blank(value text, max_length integer) returns boolean
  language sql immutable parallel safe
  return value ~ '\S' and length(value) <= max_length;
comment on function app_hidden.is_not_blank(text, integer) is
  E'Not blank (as is_not_blank(text)) and at most max_length characters: names (200) and titles (300). Not STRICT so that it can be inlined (null gives null all the same).';

create function app_hidden.try_uuid(value text) returns uuid
  language sql immutable parallel safe
  return case when value ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then value::uuid end;
comment on function app_hidden.try_uuid(text) is
  E'The uuid a JWT claim (sub, jti) spells, or null for anything else, never an error: a bad claim must be refused with our own code, not fail the request with 22P02. Only the canonical hyphenated form is read (other spellings uuid_in accepts give null), so every reader of a claim agrees. Not STRICT so that it can be inlined (null gives null all the same).';

revoke execute on function
  app_hidden.is_http_url(text), app_hidden.is_slug(text), app_hidden.is_email(text), app_hidden.is_phone(text),
  app_hidden.is_not_blank(text), app_hidden.is_not_blank(text, integer), app_hidden.try_uuid(text)
  from public;
grant execute on function
  app_hidden.is_http_url(text), app_hidden.is_slug(text), app_hidden.is_email(text), app_hidden.is_phone(text),
  app_hidden.is_not_blank(text), app_hidden.is_not_blank(text, integer), app_hidden.try_uuid(text)
  to web_anon, app_client, app_admin, app_worker;

-------------------------------------------------------------------------------
-- The CHECK constraints, same names, now through the helpers.

alter table api.users
  drop constraint users_email_format,
  add constraint users_email_format check (app_hidden.is_email(email)),
  drop constraint users_phone_format,
  add constraint users_phone_format check (phone is null or app_hidden.is_phone(phone)),
  drop constraint users_name_not_blank,
  add constraint users_name_not_blank check (app_hidden.is_not_blank(name, 200));

alter table api.projects
  drop constraint projects_url_format,
  add constraint projects_url_format check (url is null or app_hidden.is_http_url(url)),
  drop constraint projects_name_not_blank,
  add constraint projects_name_not_blank check (app_hidden.is_not_blank(name, 200));

alter table api.invoices
  drop constraint invoices_qris_url_format,
  add constraint invoices_qris_url_format check (qris_url is null or app_hidden.is_http_url(qris_url));

alter table api.templates
  drop constraint templates_url_format,
  add constraint templates_url_format check (app_hidden.is_http_url(image_url) and app_hidden.is_http_url(demo_url)),
  drop constraint templates_name_not_blank,
  add constraint templates_name_not_blank check (app_hidden.is_not_blank(name, 200));

alter table api.posts
  drop constraint posts_slug_format,
  add constraint posts_slug_format check (app_hidden.is_slug(slug)),
  drop constraint posts_featured_image_format,
  add constraint posts_featured_image_format check (featured_image is null or app_hidden.is_http_url(featured_image)),
  drop constraint posts_title_not_blank,
  add constraint posts_title_not_blank check (app_hidden.is_not_blank(title, 300));

alter table api.pages
  drop constraint pages_slug_format,
  add constraint pages_slug_format check (app_hidden.is_slug(slug)),
  drop constraint pages_title_not_blank,
  add constraint pages_title_not_blank check (app_hidden.is_not_blank(title, 300));

alter table api.pricing_plans
  drop constraint pricing_plans_name_not_blank,
  add constraint pricing_plans_name_not_blank check (app_hidden.is_not_blank(name, 200));

alter table api.faqs
  drop constraint faqs_question_not_blank,
  add constraint faqs_question_not_blank check (app_hidden.is_not_blank(question)),
  drop constraint faqs_answer_not_blank,
  add constraint faqs_answer_not_blank check (app_hidden.is_not_blank(answer));

-- Partitioned: the partitions' copies of the constraint follow the parent.
alter table api.audit_logs
  drop constraint audit_logs_resource_not_blank,
  add constraint audit_logs_resource_not_blank check (app_hidden.is_not_blank(resource));

alter table api.websocket_connections
  drop constraint websocket_connections_connection_id_not_blank,
  add constraint websocket_connections_connection_id_not_blank check (app_hidden.is_not_blank(connection_id));

alter table api.websocket_room_memberships
  drop constraint websocket_room_memberships_room_id_not_blank,
  add constraint websocket_room_memberships_room_id_not_blank check (app_hidden.is_not_blank(room_id));

alter table api.real_time_notifications
  drop constraint real_time_notifications_title_not_blank,
  add constraint real_time_notifications_title_not_blank check (app_hidden.is_not_blank(title));

-------------------------------------------------------------------------------
-- The functions that check the same rules before a write, so they answer
-- with our error codes, now check them with the same helpers.

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
  if length(email) > 254 or not app_hidden.is_email(email) then
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
  if name is null or not app_hidden.is_not_blank(name) then
    perform app_hidden.raise_error('INVALID_NAME', 'A name is required.', 400);
  end if;
  if not app_hidden.is_not_blank(name, 200) then
    perform app_hidden.raise_error('INVALID_NAME', 'The name is longer than 200 characters.', 400);
  end if;
  if phone is not null and not app_hidden.is_phone(phone) then
    perform app_hidden.raise_error('INVALID_PHONE', 'The phone number must be 8 to 15 digits, optionally starting with +.', 400);
  end if;
end;
$$;

-------------------------------------------------------------------------------
-- The JWT's sub and jti are read with try_uuid (the same canonical-form rule
-- as before, now in one place).

create or replace function app_hidden.current_user_id() returns uuid
  language sql stable parallel safe
  set search_path to pg_catalog, pg_temp
as $$
  select app_hidden.try_uuid(app_hidden.jwt_claims() ->> 'sub');
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
  token_sub uuid := app_hidden.try_uuid(claims ->> 'sub');
  token_jti uuid := app_hidden.try_uuid(claims ->> 'jti');
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
  if token_sub is null then
    perform app_hidden.raise_error('TOKEN_INVALID', 'This token names no user.', 401);
  end if;
  if token_jti is null then
    perform app_hidden.raise_error('TOKEN_INVALID', 'This token has no id.', 401);
  end if;
  select u.role, exists (select 1 from app_private.revoked_tokens r where r.jti = token_jti)
    into user_role, revoked
    from api.users u where u.id = token_sub;
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
