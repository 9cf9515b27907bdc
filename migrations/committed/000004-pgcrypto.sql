--! Previous: sha1:533e8e40396f688fb1d8d0974816d014d5edfa43
--! Hash: sha1:1b6bd9b229075b6302dbd5622827cc98737c7316
--! Message: pgcrypto

-- bcrypt password hashes, HMAC-signed tokens and encrypted credentials.
create extension if not exists pgcrypto with schema public;
