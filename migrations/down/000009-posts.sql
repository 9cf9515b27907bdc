drop table api.posts;
drop type api.post_status;
