-- A small SuiteCRM 7 database (SQLite): the tables crm.odbc reads, with the columns it selects.
-- Written for omniloop's tests from the public SuiteCRM vardefs (table and column names only);
-- the people are invented.
CREATE TABLE contacts (id CHAR(36) PRIMARY KEY, date_entered DATETIME, date_modified DATETIME,
  deleted SMALLINT DEFAULT 0, salutation VARCHAR(255), first_name VARCHAR(100),
  last_name VARCHAR(100), title VARCHAR(100), department VARCHAR(255), birthdate DATE,
  do_not_call SMALLINT DEFAULT 0, phone_home VARCHAR(100), phone_mobile VARCHAR(100),
  phone_work VARCHAR(100), primary_address_street VARCHAR(150), primary_address_city VARCHAR(100),
  primary_address_state VARCHAR(100), primary_address_postalcode VARCHAR(20),
  primary_address_country VARCHAR(255), lead_source VARCHAR(255));
CREATE TABLE leads (id CHAR(36) PRIMARY KEY, date_entered DATETIME, date_modified DATETIME,
  deleted SMALLINT DEFAULT 0, salutation VARCHAR(255), first_name VARCHAR(100),
  last_name VARCHAR(100), title VARCHAR(100), department VARCHAR(255), birthdate DATE,
  do_not_call SMALLINT DEFAULT 0, phone_home VARCHAR(100), phone_mobile VARCHAR(100),
  phone_work VARCHAR(100), primary_address_street VARCHAR(150), primary_address_city VARCHAR(100),
  primary_address_state VARCHAR(100), primary_address_postalcode VARCHAR(20),
  primary_address_country VARCHAR(255), lead_source VARCHAR(255), converted SMALLINT DEFAULT 0,
  status VARCHAR(100), account_name VARCHAR(255), contact_id CHAR(36), account_id CHAR(36));
CREATE TABLE accounts (id CHAR(36) PRIMARY KEY, name VARCHAR(150), date_entered DATETIME,
  date_modified DATETIME, deleted SMALLINT DEFAULT 0, account_type VARCHAR(50),
  industry VARCHAR(50), billing_address_city VARCHAR(100), billing_address_country VARCHAR(255),
  website VARCHAR(255));
CREATE TABLE accounts_contacts (id CHAR(36) PRIMARY KEY, contact_id CHAR(36), account_id CHAR(36),
  date_modified DATETIME, deleted SMALLINT DEFAULT 0);
CREATE TABLE email_addresses (id CHAR(36) PRIMARY KEY, email_address VARCHAR(255),
  email_address_caps VARCHAR(255), invalid_email SMALLINT DEFAULT 0, opt_out SMALLINT DEFAULT 0,
  date_created DATETIME, date_modified DATETIME, deleted SMALLINT DEFAULT 0);
CREATE TABLE email_addr_bean_rel (id CHAR(36) PRIMARY KEY, email_address_id CHAR(36) NOT NULL,
  bean_id CHAR(36), bean_module VARCHAR(100), primary_address SMALLINT DEFAULT 0,
  reply_to_address SMALLINT DEFAULT 0, date_created DATETIME, date_modified DATETIME,
  deleted SMALLINT DEFAULT 0);
INSERT INTO contacts (id, date_modified, salutation, first_name, last_name, title, department,
  birthdate, do_not_call, phone_mobile, primary_address_street, primary_address_city,
  primary_address_postalcode, primary_address_country)
  VALUES ('5a1d0c3e-0000-4000-8000-000000000001', '2026-11-02 09:00:00', 'Ms.', 'Philippa',
          'Featherstonehaugh', 'Head of Procurement', 'Purchasing', '1984-07-12', 1,
          '+44 7911 123458', '12 Quillfeather Lane', 'York', 'YO1 7HH', 'United Kingdom');
INSERT INTO email_addresses (id, email_address, email_address_caps, opt_out)
  VALUES ('e0000000-0000-4000-8000-000000000001', 'philippa@crm-sample.example',
          'PHILIPPA@CRM-SAMPLE.EXAMPLE', 1);
INSERT INTO email_addr_bean_rel (id, email_address_id, bean_id, bean_module, primary_address)
  VALUES ('r0000000-0000-4000-8000-000000000001', 'e0000000-0000-4000-8000-000000000001',
          '5a1d0c3e-0000-4000-8000-000000000001', 'Contacts', 1);
INSERT INTO leads (id, date_modified, first_name, last_name, status, account_name)
  VALUES ('1ead0000-0000-4000-8000-000000000001', '2026-11-03 10:00:00', 'Barnaby',
          'Quillwright', 'New', 'Quillwright Ltd');
INSERT INTO accounts (id, name, date_modified, industry)
  VALUES ('acc00000-0000-4000-8000-000000000001', 'Featherstone Holdings', '2026-11-01 08:00:00',
          'Retail');
INSERT INTO accounts_contacts (id, contact_id, account_id)
  VALUES ('ac000000-0000-4000-8000-000000000001', '5a1d0c3e-0000-4000-8000-000000000001',
          'acc00000-0000-4000-8000-000000000001');
