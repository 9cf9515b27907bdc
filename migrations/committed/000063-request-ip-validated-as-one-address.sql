--! Previous: sha1:7cbc27c09825b416a7ae2474e5c7b7a0db549861
--! Hash: sha1:fa54568c12f5c2f091dc998ae11d74aa2ad4e191
--! Message: request ip validated as one address

-- Work in progress for the next migration (graphile-migrate `watch` applies it
-- on save; `npm run gm -- commit --message "..."` commits it). Write its down
-- script in migrations/down/ under the committed file's name.

-- app_hidden.request_ip() stores only an IP address. The API edge (edge/)
-- sets X-Forwarded-For to exactly one address, taken from the connection or
-- from a trusted proxy; a request that reaches PostgREST another way could
-- send anything (`not-an-ip`, 5000 digits, a list), and that must not become
-- the audit IP or the sign-up limit's bucket. Anything but one address is
-- null (audit: unknown; sign-up limit: the shared 'local' bucket).
create or replace function app_hidden.request_ip() returns text
  language plpgsql stable
  set search_path to pg_catalog, pg_temp
as $$
declare
  forwarded text := btrim(app_hidden.request_header('x-forwarded-for'));
begin
  if forwarded is null or forwarded = '' then
    return host(inet_client_addr());
  end if;
  -- The common case, without the exception block's subtransaction.
  if forwarded ~ '^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$' then
    return forwarded;
  end if;
  -- IPv6: hex digits, colons and an embedded IPv4's dots, no prefix length.
  if length(forwarded) > 45 or forwarded !~ '^[0-9A-Fa-f:.]+$' or forwarded !~ ':' then
    return null;
  end if;
  begin
    return host(forwarded::inet);
  exception when invalid_text_representation then
    return null;
  end;
end;
$$;
comment on function app_hidden.request_ip() is E'Client address: the X-Forwarded-For header when it is exactly one IP address (the API edge sets it from the connection or a trusted proxy), null when it is anything else (never stored as given), the connection''s address when there is none. PARALLEL UNSAFE: it may open a subtransaction to validate an IPv6 address.';
