DROP TABLE IF EXISTS portfolio_contacts;
DROP TABLE IF EXISTS portfolio_owners;
DROP TABLE IF EXISTS portfolios;
