--! Previous: sha1:357519b2f9f06a9c5214258000e39b31a1b83597
--! Hash: sha1:4264e3677f0596d083bc10df2a19b1600e9abc81
--! Message: pgcrypto

-- bcrypt password hashes, HMAC-signed tokens and encrypted credentials.
create extension if not exists pgcrypto with schema public;
