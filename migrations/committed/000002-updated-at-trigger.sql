--! Previous: sha1:5575310496a37a70a134a4b4c9c0e9b246efb712
--! Hash: sha1:42208807d5aa0be23f47ed4bb07ba69eec40eeef
--! Message: updated at trigger

create function app_private.tg__set_updated_at() returns trigger
  language plpgsql
  set search_path to pg_catalog, pg_temp
as $$
begin
  new.updated_at := now();
  return new;
end;
$$;
comment on function app_private.tg__set_updated_at() is
  E'BEFORE UPDATE trigger: keeps updated_at equal to the time of the last change.';
