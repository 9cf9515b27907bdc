drop table api.faqs;
