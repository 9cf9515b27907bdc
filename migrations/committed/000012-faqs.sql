--! Previous: sha1:9786a781b7e96277497f1de916c3a7f453f2c261
--! Hash: sha1:9510ef061c3a3a87a2b3b1f2533cd13c76fa82c3
--! Message: faqs

create table api.faqs (
  id uuid not null default gen_random_uuid(),
  question text not null,
  answer text not null,
  sort_order integer not null default 0,
  is_active boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint faqs_pkey primary key (id),
  constraint faqs_sort_order_non_negative check (sort_order >= 0),
  constraint faqs_question_not_blank check (question ~ '\S'),
  constraint faqs_answer_not_blank check (answer ~ '\S')
);
comment on table api.faqs is E'Frequently asked questions shown on the agency site.';
comment on column api.faqs.sort_order is E'Display order, ascending, not negative.';
comment on column api.faqs.is_active is E'Inactive questions are hidden from the public.';

create index faqs_sort_order_idx on api.faqs (sort_order);
create index faqs_is_active_idx on api.faqs (is_active);
create index faqs_is_active_sort_order_idx on api.faqs (is_active, sort_order);
create index faqs_active_sort_order_idx on api.faqs (sort_order) where is_active = true;

alter table api.faqs enable row level security;

create trigger _100_timestamps before update on api.faqs
  for each row execute function app_private.tg__set_updated_at();
