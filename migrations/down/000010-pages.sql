drop table api.pages;
