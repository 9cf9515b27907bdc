drop table api.invoices;
drop type api.invoice_status;
