drop function app_hidden.maintain_partitions();
