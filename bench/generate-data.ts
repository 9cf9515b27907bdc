/**
 * Realistic volumes for the benchmarks, made in SQL with generate_series:
 * at scale 1, 10 000 users (2 % admins), 100 000 projects (10 per client),
 * 1 000 000 invoices (10 per project, mostly paid, spread over two years)
 * and 100 000 posts (English and Indonesian, 70 % published).
 *
 * Triggers are skipped while loading (session_replication_role = replica):
 * the rows are consistent by construction, and a million audit rows for
 * generated data would only measure the loader. What a trigger keeps that
 * the API reads (the posts' search vectors) is filled in by hand.
 */
import type { Client } from "pg";

export type Volumes = { users: number; projects: number; invoices: number; posts: number };

export function volumesFor(scale: number): Volumes {
  return { users: 10_000 * scale, projects: 100_000 * scale, invoices: 1_000_000 * scale, posts: 100_000 * scale };
}

const englishWords = [
  "website",
  "building",
  "school",
  "news",
  "portal",
  "company",
  "profile",
  "design",
  "fast",
  "mobile",
  "payment",
  "qris",
  "hosting",
  "domain",
  "security",
  "content",
  "editor",
  "gallery",
  "students",
  "readers",
];
const indonesianWords = [
  "sekolah",
  "berita",
  "perusahaan",
  "pembangunan",
  "membangun",
  "pendidikan",
  "siswa",
  "guru",
  "pembayaran",
  "cepat",
  "desain",
  "halaman",
  "kegiatan",
  "pengumuman",
  "pelanggan",
  "produk",
  "usaha",
  "daerah",
  "informasi",
  "layanan",
];

export async function generateData(client: Client, scale: number): Promise<Volumes> {
  const v = volumesFor(scale);
  await client.query("set session_replication_role = replica");
  try {
    await client.query(
      `insert into api.users (email, name, role, created_at)
       select 'user' || i || '@bench.jasaweb.id', 'Pengguna ' || i,
              case when i % 50 = 0 then 'admin'::api.user_role else 'client'::api.user_role end,
              now() - (i % 730) * interval '1 day'
         from generate_series(1, $1) i`,
      [v.users],
    );
    const perClient = Math.ceil(v.projects / Math.floor(v.users * 0.98));
    await client.query(
      `insert into api.projects (user_id, name, type, status, created_at)
       select u.id, 'Proyek ' || g || ' ' || u.name,
              (array['sekolah', 'berita', 'company']::api.project_type[])[1 + (g % 3)],
              (array['pending_payment', 'in_progress', 'review', 'completed']::api.project_status[])[1 + ((g + u.n) % 4)],
              u.created_at + g * interval '3 days'
         from (select id, name, created_at, row_number() over (order by created_at) as n from api.users where role = 'client') u
        cross join generate_series(1, $1) g
        limit $2`,
      [perClient, v.projects],
    );
    const perProject = Math.ceil(v.invoices / v.projects);
    await client.query(
      `insert into api.invoices (project_id, amount, status, midtrans_order_id, paid_at, created_at)
       select p.id,
              (array[2500000, 3500000, 5000000])[1 + (g % 3)],
              s.status,
              'JW-' || replace(p.id::text, '-', '') || '-' || g,
              case when s.status in ('paid', 'partial_refunded', 'refunded') then p.created_at + g * interval '5 days' end,
              p.created_at + g * interval '5 days'
         from api.projects p
        cross join generate_series(1, $1) g
        cross join lateral (select (array['paid', 'paid', 'paid', 'paid', 'paid', 'unpaid', 'pending', 'expired', 'failed', 'refunded'
                                         ]::api.invoice_status[])[1 + ((g + abs(hashtext(p.id::text))) % 10)] as status) s`,
      [perProject],
    );
    await client.query(
      `insert into api.posts (title, slug, content, status, published_at, created_at)
       select initcap(w[1 + i % 20]) || ' ' || w[1 + (i / 20) % 20] || ' ' || i,
              'bench-post-' || i,
              (select string_agg(w[1 + ((i * 7 + k * 13) % 20)], ' ') from generate_series(1, 60) k),
              case when i % 10 < 7 then 'published'::api.post_status else 'draft'::api.post_status end,
              case when i % 10 < 7 then now() - (i % 1000) * interval '1 hour' end,
              now() - (i % 1000) * interval '1 hour'
         from generate_series(1, $1) i
        cross join lateral (select case when i % 2 = 0 then $2::text[] else $3::text[] end as w) words`,
      [v.posts, englishWords, indonesianWords],
    );
    // The posts' stored tsvectors, which their trigger (skipped above) keeps
    // for search_content (migration 000055).
    await client.query(
      `insert into app_private.post_search_vectors (post_id, english, indonesian)
       select id, to_tsvector('english'::regconfig, title || ' ' || content), to_tsvector('indonesian'::regconfig, title || ' ' || content)
         from api.posts
       on conflict (post_id) do nothing`,
    );
  } finally {
    await client.query("set session_replication_role = origin");
  }
  await client.query("analyze");
  return v;
}
