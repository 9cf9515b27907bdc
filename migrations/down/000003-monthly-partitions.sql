drop function app_private.drop_expired_partitions(regclass, integer);
drop function app_private.create_monthly_partitions(regclass, integer, date);
drop function app_private.partition_name(regclass, date);
