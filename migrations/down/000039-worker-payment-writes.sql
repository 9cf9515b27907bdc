drop function app_hidden.apply_payment_status(text, text, text, timestamptz);
drop function app_hidden.record_qris_charge(uuid, text, text, timestamptz, text);
