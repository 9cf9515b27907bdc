drop function app_private.maintain_partitions();
