DROP TABLE IF EXISTS team_members;
DROP TABLE IF EXISTS teams;
ALTER TABLE users DROP COLUMN availability;
DROP TABLE IF EXISTS portfolio_contacts;
DROP TABLE IF EXISTS portfolio_owners;
DROP TABLE IF EXISTS portfolios;
