drop function api.bi_revenue(date, date, text);
drop function api.admin_dashboard();
