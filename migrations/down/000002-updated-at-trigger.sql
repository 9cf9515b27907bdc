drop function app_private.tg__set_updated_at();
