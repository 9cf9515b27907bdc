/**
 * Demo data for a first start: the template catalogue, a pricing plan per
 * project type, FAQs, a few published posts and pages (English and
 * Indonesian), and the admin user. Every insert is keyed (fixed ids, slugs,
 * identifiers, the admin email), so seeding again adds nothing.
 */
import type { ClientBase } from "pg";
import { randomSecret } from "../config/secrets";
import { inTransaction } from "./pg";

type Template = { id: string; name: string; category: "sekolah" | "berita" | "company"; slug: string };

const templates: Template[] = [
  { id: "8f0c6f3e-5b7a-4a53-9e0c-000000000001", name: "Sekolah Ceria", category: "sekolah", slug: "sekolah-ceria" },
  { id: "8f0c6f3e-5b7a-4a53-9e0c-000000000002", name: "Kampus Modern", category: "sekolah", slug: "kampus-modern" },
  { id: "8f0c6f3e-5b7a-4a53-9e0c-000000000003", name: "Warta Kini", category: "berita", slug: "warta-kini" },
  { id: "8f0c6f3e-5b7a-4a53-9e0c-000000000004", name: "Kabar Daerah", category: "berita", slug: "kabar-daerah" },
  { id: "8f0c6f3e-5b7a-4a53-9e0c-000000000005", name: "Korporat Prima", category: "company", slug: "korporat-prima" },
  { id: "8f0c6f3e-5b7a-4a53-9e0c-000000000006", name: "UMKM Maju", category: "company", slug: "umkm-maju" },
];

const pricingPlans = [
  {
    identifier: "company",
    name: "Company Profile",
    price: 2_500_000,
    description: "Website profil perusahaan yang profesional dan cepat.",
    features: ["Hingga 10 halaman", "Domain .com atau .id 1 tahun", "Hosting 1 tahun", "Formulir kontak", "SEO dasar"],
    popular: true,
    color: "primary",
    sortOrder: 1,
  },
  {
    identifier: "sekolah",
    name: "Website Sekolah",
    price: 3_500_000,
    description: "Portal sekolah dengan berita, agenda, galeri dan PPDB online.",
    features: [
      "Profil sekolah & guru",
      "Berita dan agenda",
      "Galeri foto",
      "Pendaftaran siswa baru (PPDB)",
      "Hosting 1 tahun",
    ],
    popular: false,
    color: "success",
    sortOrder: 2,
  },
  {
    identifier: "berita",
    name: "Portal Berita",
    price: 5_000_000,
    description: "Portal berita dengan kategori, redaksi multi-penulis dan iklan.",
    features: [
      "Kategori & tag tak terbatas",
      "Multi penulis dan editor",
      "Slot iklan",
      "Optimasi kecepatan",
      "Hosting 1 tahun",
    ],
    popular: false,
    color: "warning",
    sortOrder: 3,
  },
];

const faqs = [
  [
    "Berapa lama pembuatan website?",
    "Umumnya 7 sampai 14 hari kerja setelah pembayaran diterima, tergantung paket.",
    1,
  ],
  [
    "Bagaimana cara membayar?",
    "Pembayaran memakai QRIS melalui Midtrans: pindai kode QR dengan aplikasi bank atau dompet digital apa pun.",
    2,
  ],
  ["Apakah saya bisa memantau progres proyek?", "Bisa. Status proyek diperbarui secara langsung di dasbor klien.", 3],
  ["Do you build websites in English?", "Yes. Every package can be delivered in English, Indonesian, or both.", 4],
] as const;

const posts = [
  {
    slug: "tips-memilih-website-sekolah",
    title: "Tips Memilih Website Sekolah",
    content:
      "Website sekolah yang baik memudahkan orang tua mencari informasi pendaftaran, jadwal kegiatan, dan pengumuman. " +
      "Pilih desain yang sederhana, pastikan halaman pendaftaran mudah ditemukan, dan perbarui berita sekolah secara rutin.",
    publishedDaysAgo: 20,
  },
  {
    slug: "mengapa-umkm-membutuhkan-website",
    title: "Mengapa UMKM Membutuhkan Website",
    content:
      "Pelanggan kini mencari produk lewat internet. Dengan website sendiri, usaha kecil terlihat lebih terpercaya, " +
      "bisa menampilkan katalog produk, dan menerima pesanan kapan saja tanpa bergantung pada marketplace.",
    publishedDaysAgo: 10,
  },
  {
    slug: "building-a-fast-news-portal",
    title: "Building a Fast News Portal",
    content:
      "Readers leave slow news sites. Caching published articles, optimising images and keeping the homepage light " +
      "are the quickest wins when a newsroom grows and traffic spikes during breaking stories.",
    publishedDaysAgo: 5,
  },
  {
    slug: "paying-with-qris",
    title: "Paying for Your Website with QRIS",
    content:
      "QRIS lets clients pay from any Indonesian banking or e-wallet app by scanning one QR code. " +
      "Payments are confirmed automatically and the project starts as soon as the invoice is paid.",
    publishedDaysAgo: 2,
  },
];

const draftPost = {
  slug: "rencana-fitur-baru",
  title: "Rencana Fitur Baru",
  content: "Draf internal tentang fitur yang sedang dikerjakan tim.",
};

const pages = [
  {
    slug: "tentang-kami",
    title: "Tentang Kami",
    content:
      "JasaWeb adalah agensi pembuatan website untuk sekolah, media berita, dan perusahaan di seluruh Indonesia. " +
      "Kami merancang, membangun, dan merawat website agar klien dapat fokus pada usahanya.",
  },
  {
    slug: "syarat-dan-ketentuan",
    title: "Syarat dan Ketentuan",
    content:
      "Pengerjaan proyek dimulai setelah pembayaran diterima. Revisi desain dapat diajukan selama masa peninjauan.",
  },
  {
    slug: "about-us",
    title: "About Us",
    content:
      "JasaWeb builds and maintains websites for schools, newsrooms and companies across Indonesia, " +
      "from the first design to hosting and updates.",
  },
];

export type SeedResult = { adminCreated: boolean; generatedAdminPassword?: string };

export type SeedOptions = {
  adminEmail: string;
  /** Generated (and returned once) when omitted. */
  adminPassword?: string;
  /** The demo catalogue, plans, FAQs, posts and pages (default true); the admin is always ensured. */
  demoContent?: boolean;
};

/** A fixed id per FAQ, so seeding again finds the same rows (the last group of a uuid is 12 hex digits). */
export const faqId = (index: number): string => `5e1f0a2b-7c3d-4e5f-8a9b-${String(index + 1).padStart(12, "0")}`;

export async function seed(client: ClientBase, options: SeedOptions): Promise<SeedResult> {
  return inTransaction(client, async () => {
    if (options.demoContent ?? true) await seedDemoContent(client);
    return ensureAdmin(client, options);
  });
}

async function seedDemoContent(client: ClientBase): Promise<void> {
  for (const t of templates) {
    await client.query(
      `insert into api.templates (id, name, category, image_url, demo_url)
         values ($1, $2, $3, $4, $5) on conflict (id) do nothing`,
      [t.id, t.name, t.category, `https://cdn.jasaweb.id/templates/${t.slug}.png`, `https://demo.jasaweb.id/${t.slug}`],
    );
  }
  for (const p of pricingPlans) {
    await client.query(
      `insert into api.pricing_plans (identifier, name, price, description, features, popular, color, sort_order)
         values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict (identifier) do nothing`,
      [p.identifier, p.name, p.price, p.description, JSON.stringify(p.features), p.popular, p.color, p.sortOrder],
    );
  }
  for (const [i, [question, answer, sortOrder]] of faqs.entries()) {
    await client.query(
      `insert into api.faqs (id, question, answer, sort_order) values ($1, $2, $3, $4) on conflict (id) do nothing`,
      [faqId(i), question, answer, sortOrder],
    );
  }
  for (const p of posts) {
    await client.query(
      `insert into api.posts (title, slug, content, status, published_at)
         values ($1, $2, $3, 'published', now() - make_interval(days => $4)) on conflict (slug) do nothing`,
      [p.title, p.slug, p.content, p.publishedDaysAgo],
    );
  }
  await client.query(`insert into api.posts (title, slug, content) values ($1, $2, $3) on conflict (slug) do nothing`, [
    draftPost.title,
    draftPost.slug,
    draftPost.content,
  ]);
  for (const p of pages) {
    await client.query(
      `insert into api.pages (title, slug, content) values ($1, $2, $3) on conflict (slug) do nothing`,
      [p.title, p.slug, p.content],
    );
  }
}

async function ensureAdmin(
  client: ClientBase,
  options: { adminEmail: string; adminPassword?: string },
): Promise<SeedResult> {
  const password = options.adminPassword ?? randomSecret(12);
  const admin = await client.query<{ id: string }>(
    `insert into api.users (email, name, role) values ($1, 'JasaWeb Admin', 'admin')
       on conflict (email) do nothing returning id`,
    [options.adminEmail.toLowerCase()],
  );
  const adminId = admin.rows[0]?.id;
  if (adminId) {
    await client.query(
      `insert into app_private.user_secrets (user_id, password_hash) values ($1, public.crypt($2, public.gen_salt('bf', 10)))`,
      [adminId, password],
    );
  }
  return adminId && !options.adminPassword
    ? { adminCreated: true, generatedAdminPassword: password }
    : { adminCreated: Boolean(adminId) };
}
