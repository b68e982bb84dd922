-- A small SuiteCRM 7 database (SQLite): rows for the tables of
-- plugins/crm.odbc/sql/suitecrm-schema.sql (apply that first). The people are invented.
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
