-- graphile-migrate action (.gmrc afterAllMigrations, afterCurrent): PostgREST
-- reloads its schema cache, so a migration's new tables and functions are
-- served at once, whichever path applied it (db:migrate, npm start, gm watch).
notify pgrst, 'reload schema';
