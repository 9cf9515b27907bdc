drop trigger _200_status_transition on api.invoices;
drop function app_private.tg_invoices__check_status_transition();
drop function app_hidden.invoice_transition_allowed(api.invoice_status, api.invoice_status);
