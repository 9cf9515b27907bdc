drop function app_hidden.queue_payment_reconciliation(interval, interval);
