DROP TRIGGER report_stale_tag_delete;
DROP TRIGGER report_stale_tag_insert;
DROP TRIGGER report_stale_conversation_delete;
DROP TRIGGER report_stale_conversation_insert;
DROP TRIGGER report_stale_conversation_update;
DROP TABLE report_stale;
DROP TABLE report_horizon;
DROP TABLE report_days;
