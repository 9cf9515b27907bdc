--! Previous: sha1:54fe55cc90725706a137a922ba26bb95e51214f0
--! Hash: sha1:9786a781b7e96277497f1de916c3a7f453f2c261
--! Message: pricing plans

create type api.pricing_plan_color as enum ('primary', 'success', 'warning');
comment on type api.pricing_plan_color is E'Colour a frontend gives the plan''s card.';

create table api.pricing_plans (
  id uuid not null default gen_random_uuid(),
  identifier text not null,
  name text not null,
  price numeric(12, 2) not null,
  description text not null,
  features jsonb not null default '[]'::jsonb,
  popular boolean not null default false,
  color api.pricing_plan_color not null default 'primary',
  sort_order integer not null default 0,
  is_active boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint pricing_plans_pkey primary key (id),
  constraint pricing_plans_identifier_key unique (identifier),
  constraint pricing_plans_identifier_format check (identifier ~ '^[a-z0-9_-]{1,50}$'),
  constraint pricing_plans_price_positive check (price > 0),
  constraint pricing_plans_price_whole_rupiah check (price = trunc(price)),
  constraint pricing_plans_sort_order_non_negative check (sort_order >= 0),
  constraint pricing_plans_features_array check (jsonb_typeof(features) = 'array'),
  constraint pricing_plans_name_not_blank check (name ~ '\S' and length(name) <= 200)
);
comment on table api.pricing_plans is E'What each kind of website costs; a new project''s invoice takes the price of the active plan whose identifier is the project type.';
comment on column api.pricing_plans.identifier is E'Stable key of the plan, e.g. company, sekolah, berita; unique.';
comment on column api.pricing_plans.price is E'Price in rupiah (IDR), whole and positive.';
comment on column api.pricing_plans.features is E'JSON array of feature descriptions shown on the plan''s card.';
comment on column api.pricing_plans.popular is E'Highlighted as the popular choice.';
comment on column api.pricing_plans.sort_order is E'Display order, ascending, not negative.';
comment on column api.pricing_plans.is_active is E'Inactive plans are hidden from the public and cannot be ordered.';

-- pricing_plans_identifier_key already indexes identifier.
create index pricing_plans_is_active_idx on api.pricing_plans (is_active);
create index pricing_plans_sort_order_idx on api.pricing_plans (sort_order);
create index pricing_plans_is_active_sort_order_idx on api.pricing_plans (is_active, sort_order);
create index pricing_plans_identifier_is_active_idx on api.pricing_plans (identifier, is_active);
create index pricing_plans_active_identifier_sort_order_idx on api.pricing_plans (identifier, sort_order) where is_active = true;

alter table api.pricing_plans enable row level security;

create trigger _100_timestamps before update on api.pricing_plans
  for each row execute function app_private.tg__set_updated_at();
