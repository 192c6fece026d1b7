DROP TABLE crm_links;
