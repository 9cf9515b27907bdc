drop table api.templates;
