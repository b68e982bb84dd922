-- The SuiteCRM 7 tables crm.odbc reads (schema: suitecrm), as SQLite DDL: for fixture and demo
-- databases (plugins/crm.odbc/tests/data/suitecrm-sample.sql, the quickstart's SuiteCRM
-- database). Written for omniloop from the public SuiteCRM 7 vardefs (modules/Contacts,
-- Leads, Accounts, EmailAddresses vardefs; the Person and basic templates): table and column
-- names and types only, the same columns as crm_odbc_e2e_test's fixture schema. Not a full
-- SuiteCRM install: columns crm.odbc never selects are left out.
CREATE TABLE contacts (id CHAR(36) PRIMARY KEY, date_entered DATETIME NULL,
  date_modified DATETIME NULL, modified_user_id CHAR(36) NULL, created_by CHAR(36) NULL,
  description TEXT NULL, deleted SMALLINT DEFAULT 0, assigned_user_id CHAR(36) NULL,
  salutation VARCHAR(255) NULL, first_name VARCHAR(100) NULL, last_name VARCHAR(100) NULL,
  title VARCHAR(100) NULL, photo VARCHAR(255) NULL, department VARCHAR(255) NULL,
  do_not_call SMALLINT DEFAULT 0, phone_home VARCHAR(100) NULL, phone_mobile VARCHAR(100) NULL,
  phone_work VARCHAR(100) NULL, phone_other VARCHAR(100) NULL, phone_fax VARCHAR(100) NULL,
  lawful_basis TEXT NULL, primary_address_street VARCHAR(150) NULL,
  primary_address_city VARCHAR(100) NULL, primary_address_state VARCHAR(100) NULL,
  primary_address_postalcode VARCHAR(20) NULL, primary_address_country VARCHAR(255) NULL,
  alt_address_street VARCHAR(150) NULL, alt_address_city VARCHAR(100) NULL,
  alt_address_state VARCHAR(100) NULL, alt_address_postalcode VARCHAR(20) NULL,
  alt_address_country VARCHAR(255) NULL, assistant VARCHAR(75) NULL,
  assistant_phone VARCHAR(100) NULL, lead_source VARCHAR(255) NULL, birthdate DATE NULL,
  campaign_id CHAR(36) NULL, reports_to_id CHAR(36) NULL);
CREATE TABLE leads (id CHAR(36) PRIMARY KEY, date_entered DATETIME NULL,
  date_modified DATETIME NULL, modified_user_id CHAR(36) NULL, created_by CHAR(36) NULL,
  description TEXT NULL, deleted SMALLINT DEFAULT 0, assigned_user_id CHAR(36) NULL,
  salutation VARCHAR(255) NULL, first_name VARCHAR(100) NULL, last_name VARCHAR(100) NULL,
  title VARCHAR(100) NULL, photo VARCHAR(255) NULL, department VARCHAR(255) NULL,
  do_not_call SMALLINT DEFAULT 0, phone_home VARCHAR(100) NULL, phone_mobile VARCHAR(100) NULL,
  phone_work VARCHAR(100) NULL, phone_other VARCHAR(100) NULL, phone_fax VARCHAR(100) NULL,
  lawful_basis TEXT NULL, primary_address_street VARCHAR(150) NULL,
  primary_address_city VARCHAR(100) NULL, primary_address_state VARCHAR(100) NULL,
  primary_address_postalcode VARCHAR(20) NULL, primary_address_country VARCHAR(255) NULL,
  alt_address_street VARCHAR(150) NULL, alt_address_city VARCHAR(100) NULL,
  alt_address_state VARCHAR(100) NULL, alt_address_postalcode VARCHAR(20) NULL,
  alt_address_country VARCHAR(255) NULL, assistant VARCHAR(75) NULL,
  assistant_phone VARCHAR(100) NULL, lead_source VARCHAR(255) NULL, birthdate DATE NULL,
  campaign_id CHAR(36) NULL, converted SMALLINT DEFAULT 0, refered_by VARCHAR(100) NULL,
  status VARCHAR(100) NULL, account_name VARCHAR(255) NULL, contact_id CHAR(36) NULL,
  account_id CHAR(36) NULL, opportunity_id CHAR(36) NULL, website VARCHAR(255) NULL);
CREATE TABLE accounts (id CHAR(36) PRIMARY KEY, name VARCHAR(150) NULL,
  date_entered DATETIME NULL, date_modified DATETIME NULL, deleted SMALLINT DEFAULT 0,
  account_type VARCHAR(50) NULL, industry VARCHAR(50) NULL, annual_revenue VARCHAR(100) NULL,
  phone_office VARCHAR(100) NULL, billing_address_street VARCHAR(150) NULL,
  billing_address_city VARCHAR(100) NULL, billing_address_country VARCHAR(255) NULL,
  website VARCHAR(255) NULL, parent_id CHAR(36) NULL);
CREATE TABLE accounts_contacts (id CHAR(36) PRIMARY KEY, contact_id CHAR(36) NULL,
  account_id CHAR(36) NULL, date_modified DATETIME NULL, deleted SMALLINT DEFAULT 0);
CREATE TABLE email_addresses (id CHAR(36) PRIMARY KEY, email_address VARCHAR(255) NULL,
  email_address_caps VARCHAR(255) NULL, invalid_email SMALLINT DEFAULT 0,
  opt_out SMALLINT DEFAULT 0, confirm_opt_in VARCHAR(255) NULL, date_created DATETIME NULL,
  date_modified DATETIME NULL, deleted SMALLINT DEFAULT 0);
CREATE TABLE email_addr_bean_rel (id CHAR(36) PRIMARY KEY, email_address_id CHAR(36) NOT NULL,
  bean_id CHAR(36) NULL, bean_module VARCHAR(100) NULL, primary_address SMALLINT DEFAULT 0,
  reply_to_address SMALLINT DEFAULT 0, date_created DATETIME NULL, date_modified DATETIME NULL,
  deleted SMALLINT DEFAULT 0);
