-- The service team's SuiteCRM 7 database: rows for the tables of
-- plugins/crm.odbc/sql/suitecrm-schema.sql. scripts/quickstart.sh (examples/quickstart/run.sh)
-- creates var/quickstart-suitecrm.db from both files. Written for omniloop; the people are the
-- fictional Salesforce demo contacts of salesforce-Accounts-Contacts.csv, with the same e-mail
-- addresses and phone numbers (written the way people type them), so each person is one
-- profile. Times are UTC, as SuiteCRM stores them. One contact per INSERT below, columns in
-- this order (the e2e tests read first and last names from these lines).
INSERT INTO contacts (id, date_entered, date_modified, deleted, first_name, last_name, salutation, title, department, do_not_call, phone_mobile, phone_work, primary_address_street, primary_address_city, primary_address_state, primary_address_postalcode, primary_address_country, lead_source) VALUES ('3c9f6a2e-1b0d-4e58-9a7c-5d2e8f100001', '2023-09-14 10:02:11', '2024-02-28 16:05:11', 0, 'Amy', 'Taylor', 'Ms.', 'VP of Engineering', 'Engineering', 0, '(415) 256-8563', '+1 336 222 7015', '1 Alpha Way', 'Burlington', 'NC', '27215', 'USA', 'Trade Show');
INSERT INTO contacts (id, date_entered, date_modified, deleted, first_name, last_name, salutation, title, department, do_not_call, phone_mobile, phone_work, primary_address_street, primary_address_city, primary_address_state, primary_address_postalcode, primary_address_country, lead_source) VALUES ('3c9f6a2e-1b0d-4e58-9a7c-5d2e8f100002', '2023-09-14 10:04:40', '2024-01-09 08:30:00', 0, 'Jennifer', 'Wu', 'Ms.', 'CEO', 'Executive', 0, '415-852-1463', NULL, '1 Alpha Way', 'Burlington', 'NC', '27215', 'USA', 'Partner');
INSERT INTO contacts (id, date_entered, date_modified, deleted, first_name, last_name, salutation, title, department, do_not_call, phone_mobile, phone_work, primary_address_street, primary_address_city, primary_address_state, primary_address_postalcode, primary_address_country, lead_source) VALUES ('3c9f6a2e-1b0d-4e58-9a7c-5d2e8f100003', '2023-09-14 10:05:02', '2023-11-20 13:45:09', 0, 'Caroline', 'Kingsley', 'Ms.', 'VP of Technology', 'Engineering', 0, NULL, '(415) 875-3654', '1 Alpha Way', 'Burlington', 'NC', '27215', 'USA', 'Partner');
INSERT INTO contacts (id, date_entered, date_modified, deleted, first_name, last_name, salutation, title, department, do_not_call, phone_mobile, phone_work, primary_address_street, primary_address_city, primary_address_state, primary_address_postalcode, primary_address_country, lead_source) VALUES ('3c9f6a2e-1b0d-4e58-9a7c-5d2e8f100004', '2023-10-02 15:20:00', '2024-02-12 11:00:00', 0, 'Michael', 'Jones', 'Mr.', 'VP of Sales', 'Sales', 1, '415.852.6633', NULL, '500 Madison Ave', 'New York', 'NY', '10022', 'USA', 'Cold Call');
INSERT INTO contacts (id, date_entered, date_modified, deleted, first_name, last_name, salutation, title, department, do_not_call, phone_mobile, phone_work, primary_address_street, primary_address_city, primary_address_state, primary_address_postalcode, primary_address_country, lead_source) VALUES ('3c9f6a2e-1b0d-4e58-9a7c-5d2e8f100005', '2023-10-02 15:22:31', '2024-02-12 11:00:00', 0, 'Anup', 'Gupta', 'Mr.', 'VP of Products', 'Product', 0, '4158526398', NULL, '500 Madison Ave', 'New York', 'NY', '10022', 'USA', 'Cold Call');
INSERT INTO contacts (id, date_entered, date_modified, deleted, first_name, last_name, salutation, title, department, do_not_call, phone_mobile, phone_work, primary_address_street, primary_address_city, primary_address_state, primary_address_postalcode, primary_address_country, lead_source) VALUES ('3c9f6a2e-1b0d-4e58-9a7c-5d2e8f100006', '2023-10-02 15:25:00', '2023-12-01 09:10:00', 0, 'Jonathan', 'Bradley', 'Mr.', 'VP of Operations', 'Operations', 0, '(415) 888-5522', NULL, '500 Madison Ave', 'New York', 'NY', '10022', 'USA', 'Cold Call');
-- A duplicate of Jonathan entered by hand, deleted after the merge (SuiteCRM keeps it with
-- deleted = 1): a contact.deleted event that carries only its crm_id.
INSERT INTO contacts (id, date_entered, date_modified, deleted, first_name, last_name, salutation, title, department, do_not_call, phone_mobile, phone_work, primary_address_street, primary_address_city, primary_address_state, primary_address_postalcode, primary_address_country, lead_source) VALUES ('3c9f6a2e-1b0d-4e58-9a7c-5d2e8f100007', '2023-11-30 17:41:00', '2023-12-01 09:12:30', 1, 'Jon', 'Bradley', NULL, NULL, NULL, 0, '(415) 888-5522', NULL, NULL, 'New York', NULL, NULL, 'USA', 'Web Site');

-- E-mail addresses. Amy has two: her work address (primary) and a private one she opted out
-- of (SuiteCRM's opt_out: marketing denied for her, through consent_map).
INSERT INTO email_addresses (id, email_address, email_address_caps, invalid_email, opt_out, date_created, date_modified, deleted) VALUES
  ('8e41d7c0-6a3b-4f19-b2d5-7c1a9e200001', 'amy@demo.net', 'AMY@DEMO.NET', 0, 0, '2023-09-14 10:02:11', '2023-09-14 10:02:11', 0),
  ('8e41d7c0-6a3b-4f19-b2d5-7c1a9e200002', 'amy.taylor@home.example', 'AMY.TAYLOR@HOME.EXAMPLE', 0, 1, '2024-02-28 16:05:11', '2024-02-28 16:05:11', 0),
  ('8e41d7c0-6a3b-4f19-b2d5-7c1a9e200003', 'jennifer@demo.net', 'JENNIFER@DEMO.NET', 0, 0, '2023-09-14 10:04:40', '2023-09-14 10:04:40', 0),
  ('8e41d7c0-6a3b-4f19-b2d5-7c1a9e200004', 'caroline@demo.net', 'CAROLINE@DEMO.NET', 0, 0, '2023-09-14 10:05:02', '2023-09-14 10:05:02', 0),
  ('8e41d7c0-6a3b-4f19-b2d5-7c1a9e200005', 'Michael@Demo.net', 'MICHAEL@DEMO.NET', 0, 0, '2023-10-02 15:20:00', '2023-10-02 15:20:00', 0),
  ('8e41d7c0-6a3b-4f19-b2d5-7c1a9e200006', 'anup@demo.net', 'ANUP@DEMO.NET', 0, 0, '2023-10-02 15:22:31', '2023-10-02 15:22:31', 0),
  ('8e41d7c0-6a3b-4f19-b2d5-7c1a9e200007', 'jonathan@demo.net', 'JONATHAN@DEMO.NET', 0, 0, '2023-10-02 15:25:00', '2023-10-02 15:25:00', 0),
  ('8e41d7c0-6a3b-4f19-b2d5-7c1a9e200008', 'rosa@northerntrail.example', 'ROSA@NORTHERNTRAIL.EXAMPLE', 0, 0, '2024-02-20 14:00:00', '2024-02-20 14:00:00', 0);
INSERT INTO email_addr_bean_rel (id, email_address_id, bean_id, bean_module, primary_address, reply_to_address, date_created, date_modified, deleted) VALUES
  ('b7d2c915-0e4f-4a83-8c6e-3f5b1d300001', '8e41d7c0-6a3b-4f19-b2d5-7c1a9e200001', '3c9f6a2e-1b0d-4e58-9a7c-5d2e8f100001', 'Contacts', 1, 0, '2023-09-14 10:02:11', '2023-09-14 10:02:11', 0),
  ('b7d2c915-0e4f-4a83-8c6e-3f5b1d300002', '8e41d7c0-6a3b-4f19-b2d5-7c1a9e200002', '3c9f6a2e-1b0d-4e58-9a7c-5d2e8f100001', 'Contacts', 0, 0, '2024-02-28 16:05:11', '2024-02-28 16:05:11', 0),
  ('b7d2c915-0e4f-4a83-8c6e-3f5b1d300003', '8e41d7c0-6a3b-4f19-b2d5-7c1a9e200003', '3c9f6a2e-1b0d-4e58-9a7c-5d2e8f100002', 'Contacts', 1, 0, '2023-09-14 10:04:40', '2023-09-14 10:04:40', 0),
  ('b7d2c915-0e4f-4a83-8c6e-3f5b1d300004', '8e41d7c0-6a3b-4f19-b2d5-7c1a9e200004', '3c9f6a2e-1b0d-4e58-9a7c-5d2e8f100003', 'Contacts', 1, 0, '2023-09-14 10:05:02', '2023-09-14 10:05:02', 0),
  ('b7d2c915-0e4f-4a83-8c6e-3f5b1d300005', '8e41d7c0-6a3b-4f19-b2d5-7c1a9e200005', '3c9f6a2e-1b0d-4e58-9a7c-5d2e8f100004', 'Contacts', 1, 0, '2023-10-02 15:20:00', '2023-10-02 15:20:00', 0),
  ('b7d2c915-0e4f-4a83-8c6e-3f5b1d300006', '8e41d7c0-6a3b-4f19-b2d5-7c1a9e200006', '3c9f6a2e-1b0d-4e58-9a7c-5d2e8f100005', 'Contacts', 1, 0, '2023-10-02 15:22:31', '2023-10-02 15:22:31', 0),
  ('b7d2c915-0e4f-4a83-8c6e-3f5b1d300007', '8e41d7c0-6a3b-4f19-b2d5-7c1a9e200007', '3c9f6a2e-1b0d-4e58-9a7c-5d2e8f100006', 'Contacts', 1, 0, '2023-10-02 15:25:00', '2023-10-02 15:25:00', 0),
  -- the duplicate's link to Jonathan's address was removed with it
  ('b7d2c915-0e4f-4a83-8c6e-3f5b1d300008', '8e41d7c0-6a3b-4f19-b2d5-7c1a9e200007', '3c9f6a2e-1b0d-4e58-9a7c-5d2e8f100007', 'Contacts', 1, 0, '2023-11-30 17:41:00', '2023-12-01 09:12:30', 1),
  ('b7d2c915-0e4f-4a83-8c6e-3f5b1d300009', '8e41d7c0-6a3b-4f19-b2d5-7c1a9e200008', '4a0e7b31-9c2f-4d6a-8e15-2b7f0c400001', 'Leads', 1, 0, '2024-02-20 14:00:00', '2024-02-20 14:00:00', 0);

-- A lead not converted yet (its own profile, keyed by its e-mail address).
INSERT INTO leads (id, date_entered, date_modified, deleted, first_name, last_name, title, status, account_name, lead_source, primary_address_city, primary_address_country) VALUES
  ('4a0e7b31-9c2f-4d6a-8e15-2b7f0c400001', '2024-02-20 14:00:00', '2024-02-20 14:00:00', 0, 'Rosa', 'Delgado', 'Travel Manager', 'New', 'Northern Trail Travel', 'Web Site', 'Boston', 'USA');

-- The two companies (organisation profiles, crm_id account/<id>) and who works where.
INSERT INTO accounts (id, name, date_entered, date_modified, deleted, account_type, industry, billing_address_city, billing_address_country, website) VALUES
  ('9d3b5f72-4e1a-4c08-a6d9-1e8c2b500001', 'Alpha Dynamics', '2023-09-14 09:58:00', '2023-09-14 09:58:00', 0, 'Partner', 'Technology', 'Burlington', 'USA', 'alphadynamics.example'),
  ('9d3b5f72-4e1a-4c08-a6d9-1e8c2b500002', 'Madison Investments', '2023-10-02 15:18:00', '2023-10-02 15:18:00', 0, 'Customer', 'Finance', 'New York', 'USA', 'madison.example');
INSERT INTO accounts_contacts (id, contact_id, account_id, date_modified, deleted) VALUES
  ('f1a6e8d4-2b9c-4e7f-9d03-6a4c8e600001', '3c9f6a2e-1b0d-4e58-9a7c-5d2e8f100001', '9d3b5f72-4e1a-4c08-a6d9-1e8c2b500001', '2023-09-14 10:02:11', 0),
  ('f1a6e8d4-2b9c-4e7f-9d03-6a4c8e600002', '3c9f6a2e-1b0d-4e58-9a7c-5d2e8f100002', '9d3b5f72-4e1a-4c08-a6d9-1e8c2b500001', '2023-09-14 10:04:40', 0),
  ('f1a6e8d4-2b9c-4e7f-9d03-6a4c8e600003', '3c9f6a2e-1b0d-4e58-9a7c-5d2e8f100003', '9d3b5f72-4e1a-4c08-a6d9-1e8c2b500001', '2023-09-14 10:05:02', 0),
  ('f1a6e8d4-2b9c-4e7f-9d03-6a4c8e600004', '3c9f6a2e-1b0d-4e58-9a7c-5d2e8f100004', '9d3b5f72-4e1a-4c08-a6d9-1e8c2b500002', '2023-10-02 15:20:00', 0),
  ('f1a6e8d4-2b9c-4e7f-9d03-6a4c8e600005', '3c9f6a2e-1b0d-4e58-9a7c-5d2e8f100005', '9d3b5f72-4e1a-4c08-a6d9-1e8c2b500002', '2023-10-02 15:22:31', 0),
  ('f1a6e8d4-2b9c-4e7f-9d03-6a4c8e600006', '3c9f6a2e-1b0d-4e58-9a7c-5d2e8f100006', '9d3b5f72-4e1a-4c08-a6d9-1e8c2b500002', '2023-10-02 15:25:00', 0);
