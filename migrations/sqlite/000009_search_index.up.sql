-- Search on SQLite: a trigram full-text index over the search text of companies, contacts and leads, so a
-- search looks the text up instead of scanning every record (PostgreSQL has its trigram GIN indexes). The
-- record tables have no rowid, so each has a <table>_search table numbering its records for the index, kept
-- by triggers.

CREATE TABLE companies_search (
    n           INTEGER PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    id          TEXT NOT NULL,
    search_text TEXT NOT NULL,
    UNIQUE (tenant_id, id)
);
CREATE VIRTUAL TABLE companies_fts USING fts5(search_text, content = 'companies_search', content_rowid = 'n', tokenize = 'trigram');
CREATE TRIGGER companies_search_insert AFTER INSERT ON companies BEGIN
    INSERT INTO companies_search (tenant_id, id, search_text) VALUES (new.tenant_id, new.id, new.search_text);
    INSERT INTO companies_fts (rowid, search_text)
        SELECT n, search_text FROM companies_search WHERE tenant_id = new.tenant_id AND id = new.id;
END;
CREATE TRIGGER companies_search_update AFTER UPDATE OF search_text ON companies BEGIN
    INSERT INTO companies_fts (companies_fts, rowid, search_text)
        SELECT 'delete', n, search_text FROM companies_search WHERE tenant_id = old.tenant_id AND id = old.id;
    UPDATE companies_search SET search_text = new.search_text WHERE tenant_id = old.tenant_id AND id = old.id;
    INSERT INTO companies_fts (rowid, search_text)
        SELECT n, search_text FROM companies_search WHERE tenant_id = new.tenant_id AND id = new.id;
END;
CREATE TRIGGER companies_search_delete AFTER DELETE ON companies BEGIN
    INSERT INTO companies_fts (companies_fts, rowid, search_text)
        SELECT 'delete', n, search_text FROM companies_search WHERE tenant_id = old.tenant_id AND id = old.id;
    DELETE FROM companies_search WHERE tenant_id = old.tenant_id AND id = old.id;
END;
INSERT INTO companies_search (tenant_id, id, search_text) SELECT tenant_id, id, search_text FROM companies;
INSERT INTO companies_fts (companies_fts) VALUES ('rebuild');

CREATE TABLE contacts_search (
    n           INTEGER PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    id          TEXT NOT NULL,
    search_text TEXT NOT NULL,
    UNIQUE (tenant_id, id)
);
CREATE VIRTUAL TABLE contacts_fts USING fts5(search_text, content = 'contacts_search', content_rowid = 'n', tokenize = 'trigram');
CREATE TRIGGER contacts_search_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO contacts_search (tenant_id, id, search_text) VALUES (new.tenant_id, new.id, new.search_text);
    INSERT INTO contacts_fts (rowid, search_text)
        SELECT n, search_text FROM contacts_search WHERE tenant_id = new.tenant_id AND id = new.id;
END;
CREATE TRIGGER contacts_search_update AFTER UPDATE OF search_text ON contacts BEGIN
    INSERT INTO contacts_fts (contacts_fts, rowid, search_text)
        SELECT 'delete', n, search_text FROM contacts_search WHERE tenant_id = old.tenant_id AND id = old.id;
    UPDATE contacts_search SET search_text = new.search_text WHERE tenant_id = old.tenant_id AND id = old.id;
    INSERT INTO contacts_fts (rowid, search_text)
        SELECT n, search_text FROM contacts_search WHERE tenant_id = new.tenant_id AND id = new.id;
END;
CREATE TRIGGER contacts_search_delete AFTER DELETE ON contacts BEGIN
    INSERT INTO contacts_fts (contacts_fts, rowid, search_text)
        SELECT 'delete', n, search_text FROM contacts_search WHERE tenant_id = old.tenant_id AND id = old.id;
    DELETE FROM contacts_search WHERE tenant_id = old.tenant_id AND id = old.id;
END;
INSERT INTO contacts_search (tenant_id, id, search_text) SELECT tenant_id, id, search_text FROM contacts;
INSERT INTO contacts_fts (contacts_fts) VALUES ('rebuild');

CREATE TABLE leads_search (
    n           INTEGER PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    id          TEXT NOT NULL,
    search_text TEXT NOT NULL,
    UNIQUE (tenant_id, id)
);
CREATE VIRTUAL TABLE leads_fts USING fts5(search_text, content = 'leads_search', content_rowid = 'n', tokenize = 'trigram');
CREATE TRIGGER leads_search_insert AFTER INSERT ON leads BEGIN
    INSERT INTO leads_search (tenant_id, id, search_text) VALUES (new.tenant_id, new.id, new.search_text);
    INSERT INTO leads_fts (rowid, search_text)
        SELECT n, search_text FROM leads_search WHERE tenant_id = new.tenant_id AND id = new.id;
END;
CREATE TRIGGER leads_search_update AFTER UPDATE OF search_text ON leads BEGIN
    INSERT INTO leads_fts (leads_fts, rowid, search_text)
        SELECT 'delete', n, search_text FROM leads_search WHERE tenant_id = old.tenant_id AND id = old.id;
    UPDATE leads_search SET search_text = new.search_text WHERE tenant_id = old.tenant_id AND id = old.id;
    INSERT INTO leads_fts (rowid, search_text)
        SELECT n, search_text FROM leads_search WHERE tenant_id = new.tenant_id AND id = new.id;
END;
CREATE TRIGGER leads_search_delete AFTER DELETE ON leads BEGIN
    INSERT INTO leads_fts (leads_fts, rowid, search_text)
        SELECT 'delete', n, search_text FROM leads_search WHERE tenant_id = old.tenant_id AND id = old.id;
    DELETE FROM leads_search WHERE tenant_id = old.tenant_id AND id = old.id;
END;
INSERT INTO leads_search (tenant_id, id, search_text) SELECT tenant_id, id, search_text FROM leads;
INSERT INTO leads_fts (leads_fts) VALUES ('rebuild');
