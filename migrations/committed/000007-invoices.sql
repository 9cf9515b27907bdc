--! Previous: sha1:99e8293e00a27aa3cb36c450fc8d49ae7ace7f8e
--! Hash: sha1:196c611c33efb818123fd2128b3fb2dae427bfab
--! Message: invoices

create type api.invoice_status as enum (
  'unpaid', 'paid', 'pending', 'failed', 'cancelled', 'expired', 'refunded', 'partial_refunded'
);
comment on type api.invoice_status is E'Payment state of an invoice; moves are checked by the payment functions.';

create table api.invoices (
  id uuid not null default gen_random_uuid(),
  project_id uuid not null,
  amount numeric(12, 2) not null,
  status api.invoice_status not null default 'unpaid',
  midtrans_order_id text,
  qris_url text,
  paid_at timestamptz,
  created_at timestamptz not null default now(),
  constraint invoices_pkey primary key (id),
  constraint invoices_project_id_fkey foreign key (project_id) references api.projects (id) on delete cascade,
  constraint invoices_midtrans_order_id_key unique (midtrans_order_id),
  constraint invoices_amount_positive check (amount > 0),
  -- Midtrans takes whole rupiah only (it refuses decimals).
  constraint invoices_amount_whole_rupiah check (amount = trunc(amount)),
  -- Midtrans order ids: at most 50 characters of letters, digits and - _ ~ .
  constraint invoices_midtrans_order_id_format check (midtrans_order_id is null or midtrans_order_id ~ '^[A-Za-z0-9_~.-]{1,50}$'),
  constraint invoices_qris_url_format check (qris_url is null or qris_url ~ '^https?://[^\s/$.?#].[^\s]*$'),
  constraint invoices_paid_has_paid_at check (status <> 'paid' or paid_at is not null)
);
comment on table api.invoices is E'What a client owes for a project, paid by QRIS through Midtrans.';
comment on column api.invoices.amount is E'Amount in rupiah (IDR), whole and positive.';
comment on column api.invoices.midtrans_order_id is E'The order id sent to Midtrans; unique.';
comment on column api.invoices.qris_url is E'URL of the QRIS image to scan, from the Midtrans charge.';
comment on column api.invoices.paid_at is E'When Midtrans confirmed the payment.';

create index invoices_project_id_idx on api.invoices (project_id);
create index invoices_status_idx on api.invoices (status);
create index invoices_created_at_idx on api.invoices (created_at);
create index invoices_status_created_at_idx on api.invoices (status, created_at);
create index invoices_status_paid_at_desc_idx on api.invoices (status, paid_at desc);

alter table api.invoices enable row level security;
